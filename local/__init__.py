"""The local stand-in for AWS: moto in-process, wire-level emulators, and the app on uvicorn."""
