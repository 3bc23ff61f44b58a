"""Who may open the connector: sessions, the PIM session check, the BigCommerce app callbacks."""
