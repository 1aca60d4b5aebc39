"""Knowledge base: schema, validation, loading and storage of knowledge/."""
