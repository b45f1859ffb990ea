"""Extension objects, only instantiated here; `create_app()` binds them to an app."""

from flask_sqlalchemy import SQLAlchemy

from dialer.adapters.models import Base

db = SQLAlchemy(metadata=Base.metadata)
