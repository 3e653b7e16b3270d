#!/bin/sh
# Before `azd provision`: make sure there is an Entra app registration for the bot (and, unless
# the team brings its own, for sending mail through Graph), and put its ids and secret into the
# azd environment, from where main.parameters.json hands them to Bicep (Key Vault keeps the
# secret). Skipped when INTAKE_BOT_APP_ID is already set: bring your own registration that way.
set -eu

value() { azd env get-value "$1" 2>/dev/null || true; }

# The seed of the function key the Forms flow calls with: made once, so the key stays the same
# across provisions (a Power Automate flow may hold it). Rotate: set a new seed, `azd provision`.
if [ -z "$(value INTAKE_FORMS_KEY_SEED)" ]; then
  azd env set INTAKE_FORMS_KEY_SEED "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
fi

# The key of the clients' status links (Key Vault keeps it): made once. Rotate: move it to
# INTAKE_STATUS_PREVIOUS_SECRET with INTAKE_STATUS_PREVIOUS_SECRET_UNTIL, set a new one, provision.
if [ -z "$(value INTAKE_STATUS_SECRET)" ]; then
  azd env set INTAKE_STATUS_SECRET "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
fi

if [ -n "$(value INTAKE_BOT_APP_ID)" ]; then
  echo "Intake: using the app registration $(value INTAKE_BOT_APP_ID)."
  exit 0
fi
if ! command -v az >/dev/null 2>&1; then
  echo "Intake: the Azure CLI (az) is needed to create the app registration." >&2
  echo "Or set INTAKE_BOT_APP_ID, INTAKE_BOT_APP_SECRET and INTAKE_BOT_TENANT_ID with" >&2
  echo "'azd env set' (docs/deploy.md, 'Bring your own app registration')." >&2
  exit 1
fi

tenant=$(az account show --query tenantId -o tsv)
name="intake-$(value AZURE_ENV_NAME)"
echo "Intake: creating the single-tenant app registration '$name' in tenant $tenant."
app=$(az ad app create --display-name "$name" --sign-in-audience AzureADMyOrg --query appId -o tsv)
az ad sp create --id "$app" >/dev/null
# Microsoft Graph Mail.Send (application permission); an admin grants consent after deployment.
az ad app permission add --id "$app" \
  --api 00000003-0000-0000-c000-000000000000 \
  --api-permissions b633e1c5-b582-4048-a93e-9f11b44c7e96=Role >/dev/null
secret=$(az ad app credential reset --id "$app" --display-name "azd $name" --years 1 \
  --query password -o tsv)

azd env set INTAKE_BOT_APP_ID "$app"
azd env set INTAKE_BOT_APP_SECRET "$secret"
azd env set INTAKE_BOT_TENANT_ID "$tenant"
if [ -z "$(value INTAKE_GRAPH_CLIENT_ID)" ]; then
  azd env set INTAKE_GRAPH_CLIENT_ID "$app"
  azd env set INTAKE_GRAPH_CLIENT_SECRET "$secret"
  azd env set INTAKE_GRAPH_TENANT_ID "$tenant"
fi
echo "Intake: app registration $app is ready (its secret expires in one year)."
