from cadrekit.migrate import run_env
from services.secondment.models import metadata

run_env(metadata)
