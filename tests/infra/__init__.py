"""Infrastructure tests: sam validate, sam build and checks on the transformed template."""
