// Intake on Azure: `azd up` provisions everything here and deploys the Function App.
// Resource group scope is created here so that one `azd down` removes everything.
targetScope = 'subscription'

// --- the environment -----------------------------------------------------------------------
@minLength(1)
@maxLength(40)
@description('azd environment name: part of every resource name.')
param environmentName string

@minLength(1)
@description('Region of the resources (Flex Consumption must be offered there).')
param location string

@description('Memory of one Function App instance (MB): 512, 2048 or 4096.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Most instances the Function App scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Azure Bot pricing tier (F0 is free; Teams is a standard channel).')
@allowed(['F0', 'S1'])
param botSku string = 'F0'

@description('Microsoft Forms form id for the Forms flow (Logic App). Empty: no Logic App (use Power Automate).')
param formsFormId string = ''

@description('Seed of the function key the Forms flow calls with (the preprovision hook makes one); a new seed rotates the key.')
@secure()
@minLength(32)
param formsKeySeed string = newGuid()

// --- the work item (INTAKE_*, see intake/config.py) ----------------------------------------
param workItemType string = 'Issue'
param areaPath string = ''

@description('Area path of the PBIs, Bugs and Features a decision creates (empty: the request\'s area).')
param devAreaPath string = ''
param iterationPath string = ''
param stateNew string = 'New'
param statePlanning string = 'In Planning'
param stateClosed string = 'Closed'
// Lists and maps are JSON text, exactly as the INTAKE_* variables take them.
@description('Tags on every request\'s work item (JSON list).')
param tags string = '["intake"]'
@description('Severity answer -> DevOps priority (JSON object).')
param severityPriority string = '{"Critical": 1, "High": 2, "Medium": 3, "Low": 4}'
param clientEmailField string = 'Custom.ClientEmail'
param pbiType string = 'Product Backlog Item'
param taskType string = 'Task'
param bugType string = 'Bug'
param featureType string = 'Feature'
param sprintUrgentTag string = 'sprint-urgent'
@description('Largest accepted POST /api/intake body (bytes).')
param maxBodyBytes int = 262144

// --- people --------------------------------------------------------------------------------
param coordinatorName string
@description('Where "new request" emails go.')
param coordinatorEmail string
@description('Scrum masters: Entra object ids or emails, comma-separated.')
param scrumMasters string
param scrumMasterGroupId string = ''

// --- Azure DevOps (a PAT, or a service principal) ------------------------------------------
@description('e.g. https://dev.azure.com/contoso')
param devopsOrgUrl string
param devopsProject string
param devopsTeam string = ''
@secure()
param devopsPat string = ''
param devopsTenantId string = ''
param devopsClientId string = ''
@secure()
param devopsClientSecret string = ''
@secure()
@description('Shared secret of the DevOps service hook (basic-auth password); empty: no hook.')
param devopsHookSecret string = ''

// --- Microsoft Graph mail ------------------------------------------------------------------
@description('Mailbox the emails are sent from.')
param mailSender string
param graphTenantId string
param graphClientId string
@secure()
param graphClientSecret string
param graphEndpoint string = 'https://graph.microsoft.com'
@description('Scope of the Graph app\'s token (empty: <graphEndpoint>/.default).')
param graphTokenScope string = ''
param loginAuthority string = 'https://login.microsoftonline.com'

// --- the Teams bot (single tenant) ---------------------------------------------------------
param botAppId string
@secure()
param botAppSecret string
param botTenantId string
param botOpenidMetadataUrl string = 'https://login.botframework.com/v1/.well-known/openidconfiguration'
param teamsServiceUrl string = 'https://smba.trafficmanager.net/teams/'
@description('Bot Connector token scope (US Gov: https://api.botframework.us/.default).')
param botTokenScope string = 'https://api.botframework.com/.default'
@description('Support channel id (19:...@thread.tacv2): from the channel\'s "Get link to channel".')
param teamsChannelId string

// --- the client's side: status links ------------------------------------------------------
@secure()
@description('Key that signs the clients\' status links (preprovision makes one).')
param statusSecret string
@secure()
@description('The key before a rotation: its links still open until statusPreviousSecretUntil.')
param statusPreviousSecret string = ''
@description('End of the previous key\'s grace period (ISO 8601 with offset), or empty.')
param statusPreviousSecretUntil string = ''
param statusTtlDays int = 180
@description('Work item state -> what the client reads (JSON object), added to the defaults.')
param clientStateLabels string = '{}'
param reopenDays int = 10
// telling the client: an email on each change, #client comments
@description('State changes less than this many minutes apart reach the client as one email.')
param clientNotifyMergeMinutes string = '5'
@description('State changes never emailed to the client (JSON list of [from, to]; "*" any).')
param clientSilentTransitions string = '[]'
@description('Email or id of the identity Intake acts as in DevOps (its #client comments are not emailed again).')
param devopsIdentity string = ''
param showSlaToClient bool = false
@description('The triage card\'s headline per request type and severity (JSON list, docs/triage.md); empty: the default wording.')
param headlines string = ''

// --- the SLA clock (docs/sla.md) -------------------------------------------------------------
@description('Business calendar (JSON: timezone, week, holidays); empty: UTC, Mon-Fri 09-18.')
param slaCalendar string = ''
param slaTargets string = '{"Critical": 2, "High": 3, "Medium": 10, "Low": null}'
param slaRunningStates string = '["New", "In Planning"]'
param slaResetStates string = '["New"]'
param slaPauseStates string = '[]'
param slaSeverityField string = 'Microsoft.VSTS.Common.Severity'
param firstResponseTargets string = '{"*": 8}'
param slaWarnAt string = '0.75'
@description('Managers emailed one business day after a breach (JSON list of emails).')
param escalationEmails string = '[]'
param slaDigestTimes string = '["09:30", "13:30", "17:00"]'
param maxRemindersPerDay int = 3
@description('Optional Date/Time field the SLA due date is written to, e.g. Custom.SLADue.')
param slaDueField string = ''
@description('An open form (no signed-in responder): requests per hour whose client emails go to one typed address.')
param confirmationsPerAddressPerHour int = 5
@description('An open form: requests per hour of one form whose client emails are sent.')
param confirmationsPerFormPerHour int = 100
// the DevOps trail (issue 12)
@description('Work item field that holds the request id (must exist in every type Intake creates).')
param requestIdField string = 'Custom.IntakeRequestId'
@description('State of the request\'s work item after Proceed (empty: unchanged).')
param stateAfterProceed string = ''
@description('State of the request\'s work item after Bug / Feature request (empty: unchanged).')
param stateAfterBugOrFeature string = ''

@description('Largest file of a client\'s email reply attached to the work item (bytes).')
param replyAttachmentMaxBytes int = 10485760
@description('Whether the follow_up timer reads clients\' replies from the sender mailbox.')
param readInbox bool = true
// closing the loop (issue 15)
@description('Field every close writes its resolution to (empty: not written).')
param resolutionField string = 'Microsoft.VSTS.Common.ResolvedReason'
@description('The resolutions a close can give (JSON list).')
param resolutionCodes string = '["Done", "Working as Intended", "Won\'t Do", "Duplicate", "Cannot Reproduce", "Opened by Mistake", "Configuration Issue", "Needs Project to Fix", "No response"]'
@description('Close the request as soon as what was made from it is done, without asking.')
param autoCloseOnDone bool = false

// --- On Hold relaunches and the weekly update (issue 15) -----------------------------------
@description('State of a request waiting for something from the client; relaunched, never closed.')
param stateOnHold string = 'On Hold'
@description('Calendar days On Hold before each relaunch.')
param onHoldRelaunchDays int = 21
@description('Relaunches that ask the client; later ones tell the coordinator only.')
param maxRelaunches int = 3
@description('After 7 days without a message to the client: email an update, remind the coordinator, or nothing.')
@allowed(['email', 'remind', 'off'])
param weeklyUpdate string = 'email'
// asking the client and the no-response cadence (issue 15)
@description('State of a request waiting for the client\'s answer (Ask the client).')
param stateWaitingClient string = 'Waiting on Client'
@description('Business days of the no-response cadence (JSON list): second request, last one, closed.')
param cadenceDays string = '[5, 9, 10]'

// --- storage -------------------------------------------------------------------------------
param tableName string = 'intake'

// --- names ---------------------------------------------------------------------------------
var token = toLower(uniqueString(subscription().id, environmentName, location))
var names = {
  resourceGroup: 'rg-${environmentName}'
  identity: 'id-intake-${token}'
  logs: 'log-intake-${token}'
  insights: 'appi-intake-${token}'
  storage: 'stintake${token}'
  vault: 'kv-intake-${token}'
  plan: 'plan-intake-${token}'
  functionApp: 'func-intake-${token}'
  bot: 'bot-intake-${token}'
  formsFlow: 'logic-intake-forms-${token}'
}
var tagsOnResources = { 'azd-env-name': environmentName, app: 'intake' }
// The queue trigger names its queue in code (functions/steps.py): the setting must match it.
var stepsQueue = 'intake-steps'
var vaultSecrets = {
  devopsPat: 'devops-pat'
  devopsClientSecret: 'devops-client-secret'
  devopsHookSecret: 'devops-hook-secret'
  graphClientSecret: 'graph-client-secret'
  botAppSecret: 'bot-app-secret'
  functionKey: 'intake-function-key'
  statusSecret: 'status-secret'
  statusPreviousSecret: 'status-previous-secret'
}

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: names.resourceGroup
  location: location
  tags: tagsOnResources
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: group
  params: {
    name: names.identity
    location: location
    tags: tagsOnResources
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: group
  params: {
    logAnalyticsName: names.logs
    applicationInsightsName: names.insights
    location: location
    tags: tagsOnResources
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: group
  params: {
    name: names.storage
    location: location
    tags: tagsOnResources
    queueNames: [stepsQueue, '${stepsQueue}-poison']
    tableName: tableName
    principalId: identity.outputs.principalId
  }
}

module vault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: group
  params: {
    name: names.vault
    location: location
    tags: tagsOnResources
    principalId: identity.outputs.principalId
    secretNames: vaultSecrets
    devopsPat: devopsPat
    devopsClientSecret: devopsClientSecret
    devopsHookSecret: devopsHookSecret
    graphClientSecret: graphClientSecret
    botAppSecret: botAppSecret
    statusSecret: statusSecret
    statusPreviousSecret: statusPreviousSecret
  }
}

// A secret's app setting is a Key Vault reference, or empty when the secret is not used.
var vaultRef = 'VaultName=${names.vault}'
var secretSetting = {
  devopsPat: empty(devopsPat) ? '' : '@Microsoft.KeyVault(${vaultRef};SecretName=${vaultSecrets.devopsPat})'
  devopsClientSecret: empty(devopsClientSecret) ? '' : '@Microsoft.KeyVault(${vaultRef};SecretName=${vaultSecrets.devopsClientSecret})'
  devopsHookSecret: empty(devopsHookSecret) ? '' : '@Microsoft.KeyVault(${vaultRef};SecretName=${vaultSecrets.devopsHookSecret})'
  graphClientSecret: '@Microsoft.KeyVault(${vaultRef};SecretName=${vaultSecrets.graphClientSecret})'
  botAppSecret: '@Microsoft.KeyVault(${vaultRef};SecretName=${vaultSecrets.botAppSecret})'
  statusSecret: '@Microsoft.KeyVault(${vaultRef};SecretName=${vaultSecrets.statusSecret})'
  statusPreviousSecret: empty(statusPreviousSecret) ? '' : '@Microsoft.KeyVault(${vaultRef};SecretName=${vaultSecrets.statusPreviousSecret})'
}

// Every INTAKE_* setting the app reads (intake/config.py), by name. tests/infra checks this
// object against the Settings class both ways; the Function App module adds the settings it
// derives from its own resources (storage account, Application Insights, public URL).
var intakeSettings = {
  INTAKE_MAX_BODY_BYTES: string(maxBodyBytes)
  INTAKE_WORK_ITEM_TYPE: workItemType
  INTAKE_AREA_PATH: areaPath
  INTAKE_DEV_AREA_PATH: devAreaPath
  INTAKE_ITERATION_PATH: iterationPath
  INTAKE_STATE_NEW: stateNew
  INTAKE_STATE_PLANNING: statePlanning
  INTAKE_STATE_CLOSED: stateClosed
  INTAKE_TAGS: tags
  INTAKE_SEVERITY_PRIORITY: severityPriority
  INTAKE_CLIENT_EMAIL_FIELD: clientEmailField
  INTAKE_PBI_TYPE: pbiType
  INTAKE_TASK_TYPE: taskType
  INTAKE_BUG_TYPE: bugType
  INTAKE_FEATURE_TYPE: featureType
  INTAKE_SPRINT_URGENT_TAG: sprintUrgentTag
  INTAKE_COORDINATOR_NAME: coordinatorName
  INTAKE_COORDINATOR_EMAIL: coordinatorEmail
  INTAKE_SCRUM_MASTERS: string(map(split(scrumMasters, ','), master => trim(master)))
  INTAKE_SCRUM_MASTER_GROUP_ID: scrumMasterGroupId
  INTAKE_DEVOPS_ORG_URL: devopsOrgUrl
  INTAKE_DEVOPS_PROJECT: devopsProject
  INTAKE_DEVOPS_TEAM: devopsTeam
  INTAKE_DEVOPS_PAT: secretSetting.devopsPat
  INTAKE_DEVOPS_TENANT_ID: devopsTenantId
  INTAKE_DEVOPS_CLIENT_ID: devopsClientId
  INTAKE_DEVOPS_CLIENT_SECRET: secretSetting.devopsClientSecret
  INTAKE_MAIL_SENDER: mailSender
  INTAKE_GRAPH_TENANT_ID: graphTenantId
  INTAKE_GRAPH_CLIENT_ID: graphClientId
  INTAKE_GRAPH_CLIENT_SECRET: secretSetting.graphClientSecret
  INTAKE_GRAPH_ENDPOINT: graphEndpoint
  INTAKE_GRAPH_TOKEN_SCOPE: graphTokenScope
  INTAKE_LOGIN_AUTHORITY: loginAuthority
  INTAKE_BOT_APP_ID: botAppId
  INTAKE_BOT_APP_SECRET: secretSetting.botAppSecret
  INTAKE_BOT_TENANT_ID: botTenantId
  INTAKE_BOT_OPENID_METADATA_URL: botOpenidMetadataUrl
  INTAKE_TEAMS_SERVICE_URL: teamsServiceUrl
  INTAKE_TEAMS_CHANNEL_ID: teamsChannelId
  INTAKE_BOT_TOKEN_SCOPE: botTokenScope
  INTAKE_DEVOPS_HOOK_SECRET: secretSetting.devopsHookSecret
  INTAKE_STEPS_QUEUE: stepsQueue
  INTAKE_TABLE_NAME: tableName
  // the client's side
  INTAKE_STATUS_SECRET: secretSetting.statusSecret
  INTAKE_STATUS_PREVIOUS_SECRET: secretSetting.statusPreviousSecret
  INTAKE_STATUS_PREVIOUS_SECRET_UNTIL: statusPreviousSecretUntil
  INTAKE_STATUS_TTL_DAYS: string(statusTtlDays)
  INTAKE_CLIENT_STATE_LABELS: clientStateLabels
  INTAKE_REOPEN_DAYS: string(reopenDays)
  // telling the client: an email on each change, #client comments
  INTAKE_CLIENT_NOTIFY_MERGE_MINUTES: clientNotifyMergeMinutes
  INTAKE_CLIENT_SILENT_TRANSITIONS: clientSilentTransitions
  INTAKE_DEVOPS_IDENTITY: devopsIdentity
  INTAKE_SHOW_SLA_TO_CLIENT: string(showSlaToClient)
  INTAKE_HEADLINES: headlines
  // the SLA clock
  INTAKE_CALENDAR: slaCalendar
  INTAKE_SLA_TARGETS: slaTargets
  INTAKE_SLA_RUNNING_STATES: slaRunningStates
  INTAKE_SLA_RESET_STATES: slaResetStates
  INTAKE_SLA_PAUSE_STATES: slaPauseStates
  INTAKE_SLA_SEVERITY_FIELD: slaSeverityField
  INTAKE_FIRST_RESPONSE_TARGETS: firstResponseTargets
  INTAKE_SLA_WARN_AT: slaWarnAt
  INTAKE_ESCALATION_EMAILS: escalationEmails
  INTAKE_SLA_DIGEST_TIMES: slaDigestTimes
  INTAKE_MAX_REMINDERS_PER_DAY: string(maxRemindersPerDay)
  INTAKE_SLA_DUE_FIELD: slaDueField
  // an open form: what it may make the mailbox send
  INTAKE_CONFIRMATIONS_PER_ADDRESS_PER_HOUR: string(confirmationsPerAddressPerHour)
  INTAKE_CONFIRMATIONS_PER_FORM_PER_HOUR: string(confirmationsPerFormPerHour)
  // the DevOps trail
  INTAKE_REQUEST_ID_FIELD: requestIdField
  INTAKE_STATE_AFTER_PROCEED: stateAfterProceed
  INTAKE_STATE_AFTER_BUG_OR_FEATURE: stateAfterBugOrFeature
  // replies by email
  INTAKE_REPLY_ATTACHMENT_MAX_BYTES: string(replyAttachmentMaxBytes)
  INTAKE_READ_INBOX: string(readInbox)
  // On Hold relaunches and the weekly update
  INTAKE_STATE_ON_HOLD: stateOnHold
  INTAKE_ON_HOLD_RELAUNCH_DAYS: string(onHoldRelaunchDays)
  INTAKE_MAX_RELAUNCHES: string(maxRelaunches)
  INTAKE_WEEKLY_UPDATE: weeklyUpdate
  // asking the client and the no-response cadence
  INTAKE_STATE_WAITING_CLIENT: stateWaitingClient
  INTAKE_CADENCE_DAYS: cadenceDays
  // closing the loop
  INTAKE_RESOLUTION_FIELD: resolutionField
  INTAKE_RESOLUTION_CODES: resolutionCodes
  INTAKE_AUTO_CLOSE_ON_DONE: string(autoCloseOnDone)
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: group
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tagsOnResources
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    appSettings: intakeSettings
    vaultName: vault.outputs.name
    functionKeySecretName: vaultSecrets.functionKey
    functionKeyValue: '${replace(formsKeySeed, '-', '')}${uniqueString(formsKeySeed, environmentName)}'
  }
}

module bot 'modules/bot.bicep' = {
  name: 'bot'
  scope: group
  params: {
    name: names.bot
    sku: botSku
    tags: tagsOnResources
    botAppId: botAppId
    botTenantId: botTenantId
    messagingEndpoint: '${functionApp.outputs.url}/api/messages'
  }
}

module formsFlow 'modules/formsflow.bicep' = if (!empty(formsFormId)) {
  name: 'formsflow'
  scope: group
  params: {
    name: names.formsFlow
    location: location
    tags: tagsOnResources
    formId: formsFormId
    intakeUrl: '${functionApp.outputs.url}/api/intake'
    vaultName: vault.outputs.name
    functionKeySecretName: functionApp.outputs.functionKeySecretName
  }
}

// --- outputs (azd stores them in the environment: `azd env get-values`) --------------------
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = group.name
output SERVICE_API_NAME string = functionApp.outputs.name
output INTAKE_PUBLIC_BASE_URL string = functionApp.outputs.url
output INTAKE_INTAKE_URL string = '${functionApp.outputs.url}/api/intake'
output INTAKE_BOT_MESSAGING_ENDPOINT string = '${functionApp.outputs.url}/api/messages'
output INTAKE_BOT_APP_ID string = botAppId
output AZURE_BOT_NAME string = bot.outputs.name
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output AZURE_KEY_VAULT_URI string = vault.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output INTAKE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output FORMS_FLOW_NAME string = empty(formsFormId) ? '' : formsFlow.outputs.name
