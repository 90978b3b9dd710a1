from starter.cli import app

app()
