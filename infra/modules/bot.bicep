// The Azure Bot (single tenant) with the Teams channel; Teams sends activities to the Function
// App's /api/messages. The bot's Entra app registration is made before provisioning (see
// infra/hooks/preprovision.sh): Bicep cannot create it without preview extensions.
param name string
param sku string
param tags object
param botAppId string
param botTenantId string
param messagingEndpoint string

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: name
  location: 'global'
  tags: tags
  kind: 'azurebot'
  sku: { name: sku }
  properties: {
    displayName: 'Intake'
    endpoint: messagingEndpoint
    msaAppId: botAppId
    msaAppType: 'SingleTenant'
    msaAppTenantId: botTenantId
  }
}

resource teams 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
    }
  }
}

output name string = bot.name
output teamsChannel string = teams.name
