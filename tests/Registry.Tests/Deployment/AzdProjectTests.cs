using System.Text.Json;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Deployment;

/// <summary>What `azd up` reads besides the Bicep: azure.yaml, infra/main.parameters.json and the template's outputs.</summary>
public sealed class AzdProjectTests
{
    [Fact]
    public async Task AzureYaml_DeclaresTheRegistryServiceAsADotnetFunctionApp()
    {
        var services = ReadServices(await File.ReadAllLinesAsync(Path.Combine(RepoPaths.Root, "azure.yaml")));

        var registry = Assert.Contains("registry", services);
        Assert.Equal("./src/Registry.Host", registry["project"]);
        Assert.Equal("dotnet", registry["language"]);
        Assert.Equal("function", registry["host"]);
        Assert.True(File.Exists(Path.Combine(RepoPaths.Root, registry["project"], "Registry.Host.csproj")),
            $"azure.yaml points at {registry["project"]}, which has no Registry.Host.csproj");
    }

    [Fact]
    public async Task MainParameters_PassTheAzdEnvironmentAndLeaveOnlySecureParametersForAzdToPrompt()
    {
        using var file = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(InfraTemplate.InfraDirectory, "main.parameters.json")));
        var given = file.RootElement.GetProperty("parameters");
        var template = await InfraTemplate.TemplateAsync();

        Assert.Equal("${AZURE_ENV_NAME}", given.GetProperty("environmentName").GetProperty("value").GetString());
        Assert.Equal("${AZURE_LOCATION}", given.GetProperty("location").GetProperty("value").GetString());
        var declared = template.GetProperty("parameters").EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
        Assert.All(given.EnumerateObject(), p => Assert.True(declared.ContainsKey(p.Name), $"main.parameters.json sets {p.Name}, which main.bicep does not declare"));
        // A required parameter left out of the file is prompted for by azd: only the secret may be, so that
        // nothing else depends on someone typing it.
        var prompted = declared.Where(p => !p.Value.TryGetProperty("defaultValue", out _) && !given.TryGetProperty(p.Key, out _)).Select(p => p.Key);
        Assert.Equal(["adminPassword"], prompted);
    }

    [Fact]
    public async Task Outputs_IncludeWhatAzdAndTheReadmeUse()
    {
        var outputs = (await InfraTemplate.TemplateAsync()).GetProperty("outputs");

        foreach (var name in new[] { "AZURE_LOCATION", "AZURE_TENANT_ID", "AZURE_RESOURCE_GROUP", "REGISTRY_URL", "REGISTRY_LOGIN_SERVER",
                     "REGISTRY_PRIMARY_URL", "AZURE_FUNCTION_APP_NAME", "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_EVENTGRID_TOPIC_NAME",
                     "REPLICA_FUNCTION_APP_NAMES" })
        {
            Assert.True(outputs.TryGetProperty(name, out var output), $"main.bicep has no output {name}");
            Assert.Equal("string", output.GetProperty("type").GetString());
        }
        // The login server is Front Door's endpoint with replicas, the app's host name without.
        var url = outputs.GetProperty("REGISTRY_URL").GetProperty("value").GetString()!;
        var loginServer = outputs.GetProperty("REGISTRY_LOGIN_SERVER").GetProperty("value").GetString()!;
        Assert.Equal("[coalesce(if(variables('replicated'), format('https://{0}', reference('frontDoor').outputs.hostName.value), null()), format('https://{0}', reference('function').outputs.defaultHostName.value))]", url);
        Assert.Equal("[if(variables('replicated'), reference('frontDoor').outputs.hostName.value, reference('function').outputs.defaultHostName.value)]", loginServer);
        Assert.Equal("[join(variables('replicaAppNames'), ',')]", outputs.GetProperty("REPLICA_FUNCTION_APP_NAMES").GetProperty("value").GetString());
    }

    [Fact]
    public async Task MainParameters_TakeReplicaRegionsAndTheSigningKeyFromTheAzdEnvironment()
    {
        using var file = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(InfraTemplate.InfraDirectory, "main.parameters.json")));
        var given = file.RootElement.GetProperty("parameters");
        var declared = (await InfraTemplate.TemplateAsync()).GetProperty("parameters");

        // azd substitutes ${NAME} from the environment before it reads the file, so an array parameter could not
        // take `azd env set REPLICA_REGIONS westeurope,eastasia`: the template takes one comma-separated string.
        Assert.Equal("${REPLICA_REGIONS}", given.GetProperty("replicaRegions").GetProperty("value").GetString());
        Assert.Equal("string", declared.GetProperty("replicaRegions").GetProperty("type").GetString());
        Assert.Equal("", declared.GetProperty("replicaRegions").GetProperty("defaultValue").GetString());
        Assert.Equal("${AUTH_SIGNING_KEY_PEM_BASE64}", given.GetProperty("signingKeyPemBase64").GetProperty("value").GetString());
        Assert.Equal("securestring", declared.GetProperty("signingKeyPemBase64").GetProperty("type").GetString());
    }

    [Fact]
    public async Task AzureYamlHooks_RunExecutableScriptsThatUseTheNamesTheTemplateAndParametersDefine()
    {
        var lines = await File.ReadAllLinesAsync(Path.Combine(RepoPaths.Root, "azure.yaml"));
        var runs = lines.Select(l => l.Split('#')[0].Trim()).Where(l => l.StartsWith("run:", StringComparison.Ordinal))
            .Select(l => l["run:".Length..].Trim()).ToList();
        var outputs = (await InfraTemplate.TemplateAsync()).GetProperty("outputs");

        Assert.Equal(["./infra/hooks/preprovision.sh", "./infra/hooks/deploy-replicas.sh"], runs);
        foreach (var run in runs)
        {
            var path = Path.Combine(RepoPaths.Root, run);
            Assert.True(File.Exists(path), $"azure.yaml runs {run}, which does not exist");
            // azd runs them with sh; the execute bit lets them run by hand as well.
            Assert.True(OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) & UnixFileMode.UserExecute) != 0, $"{run} is not executable");
        }
        var preprovision = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "infra", "hooks", "preprovision.sh"));
        Assert.Contains("REPLICA_REGIONS", preprovision, StringComparison.Ordinal);
        Assert.Contains("azd env set AUTH_SIGNING_KEY_PEM_BASE64", preprovision, StringComparison.Ordinal);
        // A P-256 key: the registry signs ES256.
        Assert.Contains("ec_paramgen_curve:P-256", preprovision, StringComparison.Ordinal);
        var deploy = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "infra", "hooks", "deploy-replicas.sh"));
        foreach (var output in new[] { "REPLICA_FUNCTION_APP_NAMES", "AZURE_RESOURCE_GROUP" })
        {
            Assert.Contains("$" + output, deploy.Replace("${", "$", StringComparison.Ordinal), StringComparison.Ordinal);
            Assert.True(outputs.TryGetProperty(output, out _), $"deploy-replicas.sh reads {output}, which main.bicep does not output");
        }
    }

    /// <summary>
    /// The services of azure.yaml as name → (key → value). azure.yaml is a small, flat YAML file; this reads the
    /// `services:` block by indentation rather than bringing in a YAML library.
    /// </summary>
    private static Dictionary<string, Dictionary<string, string>> ReadServices(IEnumerable<string> lines)
    {
        var services = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        Dictionary<string, string>? current = null;
        var inServices = false;
        foreach (var raw in lines)
        {
            var line = raw.Split('#')[0].TrimEnd();
            if (line.Length == 0)
            {
                continue;
            }
            var indent = line.Length - line.TrimStart().Length;
            var (key, value) = (line.Trim().Split(':', 2)[0].Trim(), line.Trim().Split(':', 2).ElementAtOrDefault(1)?.Trim() ?? "");
            if (indent == 0)
            {
                inServices = key == "services";
                current = null;
            }
            else if (inServices && indent == 2)
            {
                current = services[key] = new Dictionary<string, string>(StringComparer.Ordinal);
            }
            else if (inServices && current is not null && indent == 4)
            {
                current[key] = value.Trim('"', '\'');
            }
        }
        return services;
    }
}
