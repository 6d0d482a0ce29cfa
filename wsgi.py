"""gunicorn 'wsgi:app'."""
from ecert import create_app

app = create_app()
