from cadrekit.migrate import run_env
from gateway.models import metadata

run_env(metadata)
