// The Forms flow as code: a Logic App (Consumption) with the Microsoft Forms trigger, "Get
// response details" and an HTTP POST to /api/intake (definition: infra/logicapp/workflow.json).
// The Forms connection must be authorised once in the portal after the first deployment.
param name string
param location string
param tags object
param formId string
param intakeUrl string
param vaultName string
param functionKeySecretName string

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource functionKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = {
  parent: vault
  name: functionKeySecretName
}

resource forms 'Microsoft.Web/connections@2016-06-01' = {
  name: 'microsoftforms-${name}'
  location: location
  tags: tags
  properties: {
    displayName: 'Microsoft Forms (Intake)'
    api: {
      id: subscriptionResourceId('Microsoft.Web/locations/managedApis', location, 'microsoftforms')
    }
  }
}

resource workflow 'Microsoft.Logic/workflows@2019-05-01' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    state: 'Enabled'
    definition: loadJsonContent('../logicapp/workflow.json')
    parameters: {
      '$connections': {
        value: {
          microsoftforms: {
            connectionId: forms.id
            connectionName: forms.name
            id: forms.properties.api.id
          }
        }
      }
      formId: { value: formId }
      intakeUrl: { value: intakeUrl }
      functionKeySecretUrl: { value: '${vault.properties.vaultUri}secrets/${functionKeySecretName}' }
    }
  }
}

// The flow may read that one secret and nothing else in the vault.
resource readFunctionKey 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(functionKey.id, workflow.id, keyVaultSecretsUser)
  scope: functionKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: workflow.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output name string = workflow.name
output connectionName string = forms.name
