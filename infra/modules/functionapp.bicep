// The Function App on the Flex Consumption plan (Linux, Python 3.11), running as a
// user-assigned managed identity: the host's storage, Key Vault references and the app's own
// Azure SDK clients all use it, so no storage key or connection string exists anywhere.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
@description('Blob container URL the deployment package goes to.')
param deploymentContainerUrl string
param applicationInsightsName string
param instanceMemoryMB int
param maximumInstanceCount int
@description('The INTAKE_* settings from main.bicep.')
param appSettings object
param vaultName string
param functionKeySecretName string
@secure()
@description('The host key the Forms flow calls POST /api/intake with; also stored in Key Vault.')
param functionKeyValue string

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Settings of the Functions host and the Azure SDKs (not read by intake/config.py), and the
// INTAKE_* settings derived from this deployment's own resources. Flex Consumption sets the
// worker runtime from functionAppConfig: FUNCTIONS_WORKER_RUNTIME must not be an app setting.
var hostSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: insights.properties.ConnectionString
  AZURE_CLIENT_ID: identityClientId
  INTAKE_STORAGE_ACCOUNT_NAME: storageAccountName
  INTAKE_APPLICATIONINSIGHTS_CONNECTION_STRING: insights.properties.ConnectionString
  INTAKE_PUBLIC_BASE_URL: 'https://${site.properties.defaultHostName}'
}

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(appSettings, hostSettings)
}

// A host key of our own for the Forms flow, kept in Key Vault where the flow reads it.
resource formsKey 'Microsoft.Web/sites/host/functionKeys@2024-04-01' = {
  name: '${site.name}/default/forms-flow'
  properties: {
    name: 'forms-flow'
    value: functionKeyValue
  }
  dependsOn: [settings]
}

resource formsKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: functionKeySecretName
  properties: { value: functionKeyValue }
  dependsOn: [formsKey]
}

output name string = site.name
output url string = 'https://${site.properties.defaultHostName}'
output functionKeySecretName string = formsKeySecret.name
