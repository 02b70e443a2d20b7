"""The seven steps of a deployment, one module per concern; `plan.pipeline_for` puts them in order."""
