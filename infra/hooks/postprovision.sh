#!/bin/sh
# After `azd provision`: make the DevOps service hook subscriptions (work item updated,
# commented) that post to this app's /api/devops/hooks, with `python -m intake hooks create`
# (idempotent: kept when they exist, updated when they differ). azd gives hooks its
# environment's values, so the command reads the same INTAKE_* settings as the app, and
# INTAKE_PUBLIC_BASE_URL from the provision's outputs. Without INTAKE_DEVOPS_HOOK_SECRET the
# hooks are off on purpose: the follow-up timer's 5-minute sweep finds every change anyway.
# A failure does not stop `azd up` (continueOnError in azure.yaml): it says how to retry.
set -u

by_hand='set -a; eval "$(azd env get-values)"; set +a; python -m intake hooks create'

if [ -z "${INTAKE_DEVOPS_ORG_URL:-}" ] || [ -z "${INTAKE_DEVOPS_HOOK_SECRET:-}" ]; then
  echo "Intake: no DevOps service hooks (INTAKE_DEVOPS_ORG_URL or INTAKE_DEVOPS_HOOK_SECRET is"
  echo "not set): the 5-minute sweep finds changes. To add them: set both, then $by_hand"
  exit 0
fi

if [ -x .venv/bin/python ]; then
  python=.venv/bin/python
elif command -v python3 >/dev/null 2>&1; then
  python=python3
else
  python=python
fi

if "$python" -m intake hooks create; then
  exit 0
fi
echo "Intake: the DevOps service hook subscriptions were not made (see above). Once fixed," >&2
echo "run by hand from the repository: $by_hand" >&2
echo "(or create them in DevOps: docs/connect-devops.md, 'Service hooks')." >&2
exit 1
