// Key Vault for the secrets; the app settings reference them (@Microsoft.KeyVault(...)), so no
// secret value is stored in the Function App's configuration. RBAC, no access policies.
param name string
param location string
param tags object
@description('Principal (the Function App identity) that reads the secrets.')
param principalId string
@description('Secret names by role: devopsPat, devopsClientSecret, devopsHookSecret, graphClientSecret, botAppSecret, statusSecret, statusPreviousSecret.')
param secretNames object
@secure()
param devopsPat string
@secure()
param devopsClientSecret string
@secure()
param devopsHookSecret string
@secure()
param graphClientSecret string
@secure()
param botAppSecret string
@secure()
param statusSecret string
@secure()
param statusPreviousSecret string

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

// A secret that is not used (a PAT when a service principal is configured) is not created.
resource devopsPatSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(devopsPat)) {
  parent: vault
  name: secretNames.devopsPat
  properties: { value: devopsPat }
}

resource devopsClientSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(devopsClientSecret)) {
  parent: vault
  name: secretNames.devopsClientSecret
  properties: { value: devopsClientSecret }
}

resource devopsHookSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(devopsHookSecret)) {
  parent: vault
  name: secretNames.devopsHookSecret
  properties: { value: devopsHookSecret }
}

resource graphClientSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: secretNames.graphClientSecret
  properties: { value: graphClientSecret }
}

resource botAppSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: secretNames.botAppSecret
  properties: { value: botAppSecret }
}

resource statusSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: secretNames.statusSecret
  properties: { value: statusSecret }
}

resource statusPreviousSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(statusPreviousSecret)) {
  parent: vault
  name: secretNames.statusPreviousSecret
  properties: { value: statusPreviousSecret }
}

resource readSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
