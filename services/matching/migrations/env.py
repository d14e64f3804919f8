from cadrekit.migrate import run_env
from services.matching.models import metadata

run_env(metadata)
