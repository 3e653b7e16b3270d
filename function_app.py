"""The Azure Functions app: create it, register the blueprints. Nothing else lives here.

Settings are checked on first use, not at import: a failure here would hide every function
from the host.
"""

import azure.functions as func

from functions.devops_hooks import bp as devops_hooks_bp
from functions.follow_up import bp as follow_up_bp
from functions.health import bp as health_bp
from functions.intake import bp as intake_bp
from functions.messages import bp as messages_bp
from functions.openapi import bp as openapi_bp
from functions.status import bp as status_bp
from functions.steps import bp as steps_bp

# Function keys guard every HTTP route unless a route says otherwise (the bot endpoint checks
# Bot Framework tokens itself).
app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(intake_bp)
app.register_functions(steps_bp)
app.register_functions(messages_bp)
app.register_functions(openapi_bp)
app.register_functions(status_bp)
app.register_functions(devops_hooks_bp)
app.register_functions(follow_up_bp)
app.register_functions(health_bp)
