"""Request and response schemas of the REST API, one module per service.

The services validate with them and the gateway documents and validates with the
same classes, so the OpenAPI document cannot drift from what the services do.
"""
