from cadrekit.migrate import run_env
from services.roster.models import metadata

run_env(metadata)
