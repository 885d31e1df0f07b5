# Superset configuration for DuckHouse's docker-compose.yml (a single-node demo: SQLite metadata in the superset-home
# volume, no Celery, no Redis cache). Secrets come from the environment; nothing secret is written here.
import os

SECRET_KEY = os.environ.get("SUPERSET_SECRET_KEY", "")
if len(SECRET_KEY) < 16:
    raise RuntimeError("SUPERSET_SECRET_KEY must be set to at least 16 characters (docker-compose.yml passes it)")

# Metadata (users, saved queries, datasets, charts, dashboards). SQLite is fine for one user on one machine; point
# this at Postgres for anything shared.
SQLALCHEMY_DATABASE_URI = os.environ.get(
    "SUPERSET_DATABASE_URI", "sqlite:////app/superset_home/superset.db"
)
if SQLALCHEMY_DATABASE_URI.startswith("sqlite:"):
    # Superset's Trino engine runs each SQL Lab query in a second thread that records progress in the metadata
    # database; without this, SQLite refuses ("SQLite objects created in a thread can only be used in that same
    # thread") and every SQL Lab query against Trino fails.
    SQLALCHEMY_ENGINE_OPTIONS = {"connect_args": {"check_same_thread": False}}

# Trino answers in seconds for the demo tables; give SQL Lab and charts room for larger ones.
SQLLAB_TIMEOUT = 300
SUPERSET_WEBSERVER_TIMEOUT = 300
ROW_LIMIT = 50000
