"""Pure translators between the OpenAI protocol and each backend's wire format."""
