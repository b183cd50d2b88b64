"""HTTP: routers parse, call a service, return a model; one handler maps errors."""
