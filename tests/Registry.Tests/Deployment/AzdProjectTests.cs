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
                     "AZURE_FUNCTION_APP_NAME", "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_EVENTGRID_TOPIC_NAME" })
        {
            Assert.True(outputs.TryGetProperty(name, out var output), $"main.bicep has no output {name}");
            Assert.Equal("string", output.GetProperty("type").GetString());
        }
        Assert.StartsWith("[format('https://{0}'", outputs.GetProperty("REGISTRY_URL").GetProperty("value").GetString(), StringComparison.Ordinal);
        Assert.Contains("defaultHostName", outputs.GetProperty("REGISTRY_LOGIN_SERVER").GetProperty("value").GetString(), StringComparison.Ordinal);
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
