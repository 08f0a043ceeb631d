// Front Door's origin group (every region's function app), latency routing among them, and the one route that
// forwards everything, uncached, over HTTPS. Pulls' layer bytes do not pass here: the registry answers blob GETs
// with a 307 to a SAS URL of the region's storage account, which the client follows directly.

param profileName string
param endpointName string

@description('The primary app\'s default host name.')
param primaryHostName string

@description('Each replica app: name, the origin\'s name (its region); hostName, the app\'s default host name.')
param replicaOrigins { name: string, hostName: string }[]

var origins = concat([{ name: 'primary', hostName: primaryHostName }], replicaOrigins)

resource profile 'Microsoft.Cdn/profiles@2025-04-15' existing = {
  name: profileName

  resource endpoint 'afdEndpoints' existing = {
    name: endpointName
  }
}

resource originGroup 'Microsoft.Cdn/profiles/originGroups@2025-04-15' = {
  parent: profile
  name: 'registry'
  properties: {
    loadBalancingSettings: {
      sampleSize: 4
      successfulSamplesRequired: 3
      // 0: each edge sends a request to the origin with the lowest latency from there, so a client is served by the
      // nearest healthy region (and its pull redirects to that region's storage). Writes sent to a replica are
      // forwarded to the primary by the replica itself.
      additionalLatencyInMilliseconds: 0
    }
    healthProbeSettings: {
      // GET /health answers 200 only when the region's Blob and Table storage answer. Every Front Door edge probes
      // every origin, so the interval is the longest Front Door allows (255 s): see infra/README.md for the volume.
      probePath: '/health'
      probeRequestType: 'HEAD'
      probeProtocol: 'Https'
      probeIntervalInSeconds: 255
    }
    sessionAffinityState: 'Disabled'
  }
}

resource origin 'Microsoft.Cdn/profiles/originGroups/origins@2025-04-15' = [
  for o in origins: {
    parent: originGroup
    name: o.name
    properties: {
      hostName: o.hostName
      // App Service routes by Host: the app must see its own host name, not the endpoint's.
      originHostHeader: o.hostName
      httpsPort: 443
      httpPort: 80
      priority: 1
      weight: 1000
      enabledState: 'Enabled'
      enforceCertificateNameCheck: true
    }
  }
]

resource route 'Microsoft.Cdn/profiles/afdEndpoints/routes@2025-04-15' = {
  parent: profile::endpoint
  name: 'registry'
  properties: {
    originGroup: {
      id: originGroup.id
    }
    patternsToMatch: [
      '/*'
    ]
    // HTTPS only, to the client and to the origin: tokens and credentials never cross a plain connection.
    supportedProtocols: [
      'Https'
    ]
    forwardingProtocol: 'HttpsOnly'
    httpsRedirect: 'Disabled'
    linkToDefaultDomain: 'Enabled'
    enabledState: 'Enabled'
    // No cacheConfiguration: nothing is cached at the edge. Manifests by tag change, and every answer depends on
    // the caller's token.
  }
  // A route needs its origin group to have origins.
  dependsOn: [
    origin
  ]
}
