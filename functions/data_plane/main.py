"""DataPlane: the streaming inference app, served by uvicorn under the Lambda Web Adapter."""

from relay.http.app import create_data_plane_app

app = create_data_plane_app()
