"""Extension objects, created unbound here and bound in the app factory."""

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from caseload.db import Base

#: The web layer commits once per request, after rendering or before a redirect; nothing
#: needs reloading after that commit, and a page rendered after one (the CLI, tests)
#: must not reload every loaded object with its own query.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
