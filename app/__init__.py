"""vardkedja: one GraphQL API over a person's whole health and care record in Sweden."""
