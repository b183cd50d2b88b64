"""Real CPU serving of `tiny-local` checkpoints behind the SageMaker hosting stand-in.

Parent side (the emulator's Python): `images` (which container an image is), `artifacts` (model
data from S3), `process` (one serving process per loaded component), `hosting` (the records and
their asynchronous statuses), `metrics` (CloudWatch `Invocations`). Child side, run by the training
environment's Python (torch + transformers): `server`, `generation`, `encoders`.
"""
