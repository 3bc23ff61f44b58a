"""The connector inside the PIM: UI extensions (install, remove), sessions from their JWTs, the product
tab's status, the grid action."""
