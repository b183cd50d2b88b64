"""ControlPlane: the buffered control routes and /v1/models, behind Mangum."""

from mangum import Mangum

from relay.http.app import create_control_plane_app

app = create_control_plane_app()
lambda_handler = Mangum(app, lifespan="off")
