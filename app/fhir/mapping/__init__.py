"""Pure mappings between our rows and FHIR R4 resources, one module per domain.

Each `to_fhir(row, refs) -> dict` writes FHIR JSON from a row mapping; each
`from_fhir(resource, resolver) -> dict` reads a validated fhir.resources model back into the same
row dict. The registry of which table maps to which resource is in `registry.py`.
"""
