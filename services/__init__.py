"""The platform's services: registry, incubation, supervision, reporting."""
