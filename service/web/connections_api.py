"""The connection forms' JSON API: `PUT /api/config/pim` and `PUT /api/config/bigcommerce`. Parse the form,
call service.config.connect (the secrets kept, the confirmation, the owner check, test first and save
after), answer; its refusals are answered by the app's one handler."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from service.config import connect, forms
from service.web.config_api import author, context, read_form


async def put_pim(request: Request) -> JSONResponse:
    """
    summary: Test the PIM credentials; those that pass are saved and used, a failed test keeps the previous ones.
    description: "A stored secret or password is used again only while the URL, client ID and username are
      unchanged; otherwise both must be typed again (422, nothing is sent anywhere). A failed test leaves the
      credentials that last passed in force (`previous_in_use`) and is shown as `pim.last_attempt`."
    requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/PimForm'}}}}
    responses:
      200: {description: "{connected, message, hints, previous_in_use, pim}", content: {application/json: {schema: {$ref: '#/components/schemas/PimTest'}}}}
      409: {description: confirmation_required (PIM URL changed after the first import) or pim_in_use}
      413: {description: "body larger than 64 KB, nothing saved"}
      422: {description: "invalid fields, secrets to type again (or values the test could not use), nothing saved"}
    """
    values, errors, notes = forms.read_pim(await read_form(request), have_secret=True, have_password=True)
    return JSONResponse(await connect.save_pim(*context(request), values, errors, notes, author(request)))


async def put_bigcommerce(request: Request) -> JSONResponse:
    """
    summary: Test the BigCommerce credentials; those that pass are saved and used, a failed test keeps the previous ones.
    description: "A stored token is used again only while the store hash and client ID are unchanged; a failed
      test leaves the token that last passed in force (`previous_in_use`, `bigcommerce.last_attempt`)."
    requestBody: {required: true, content: {application/json: {schema: {$ref: '#/components/schemas/BigCommerceForm'}}}}
    responses:
      200: {description: "{connected, message, hints, previous_in_use, bigcommerce}", content: {application/json: {schema: {$ref: '#/components/schemas/BigCommerceTest'}}}}
      409: {description: confirmation_required (store hash changed after the first import) or store_in_use}
      413: {description: "body larger than 64 KB, nothing saved"}
      422: {description: "invalid fields, a token to type again (or values the test could not use), nothing saved"}
    """
    values, errors, notes = forms.read_bigcommerce(await read_form(request), have_token=True)
    return JSONResponse(await connect.save_bigcommerce(*context(request), values, errors, notes, author(request)))
