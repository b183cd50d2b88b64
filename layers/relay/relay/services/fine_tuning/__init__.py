"""OpenAI's fine-tuning API on Relay's training pipeline: an OpenAI job is a Relay training job."""
