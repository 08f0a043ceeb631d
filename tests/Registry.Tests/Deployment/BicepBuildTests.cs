using System.Text.Json;

namespace Registry.Tests.Deployment;

/// <summary>infra/ compiles with the pinned Bicep CLI, and any linter finding fails the build.</summary>
public sealed class BicepBuildTests
{
    /// <summary>Rules left off, each for a reason infra/README.md gives; every other rule is an error.</summary>
    private static readonly string[] RulesLeftOff =
    [
        "use-recent-api-versions",
        "use-recent-module-versions",
        "use-description-outputs",
        "use-description-params",
        "use-description-type-properties",
        "use-description-types",
        "use-description-vars",
    ];

    [Fact]
    public async Task Build_MainBicep_SucceedsWithoutAnyDiagnostic()
    {
        var result = await InfraTemplate.BuildResultAsync();

        Assert.Equal(0, result.ExitCode);
        Assert.True(result.StandardError.Length == 0, "bicep build reported:\n" + result.StandardError);
        Assert.Equal("", result.StandardOutput.Trim());
    }

    [Fact]
    public async Task Build_WithALinterWarning_FailsBecauseBicepConfigMakesItAnError()
    {
        var copy = Directory.CreateTempSubdirectory("infra-copy-").FullName;
        foreach (var file in Directory.EnumerateFiles(InfraTemplate.InfraDirectory, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(InfraTemplate.InfraDirectory, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        // An unused variable is a warning under Bicep's default configuration.
        await File.AppendAllTextAsync(Path.Combine(copy, "main.bicep"), "\nvar unusedProbe = 'probe'\n");

        var result = await BicepCli.RunAsync("build", Path.Combine(copy, "main.bicep"), "--stdout");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Error no-unused-vars", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BicepConfig_SetsEveryRuleToErrorExceptTheDocumentedOnes()
    {
        using var config = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(InfraTemplate.InfraDirectory, "bicepconfig.json")));
        var core = config.RootElement.GetProperty("analyzers").GetProperty("core");
        Assert.True(core.GetProperty("enabled").GetBoolean());
        var levels = core.GetProperty("rules").EnumerateObject().ToDictionary(r => r.Name, r => r.Value.GetProperty("level").GetString());

        Assert.Equal(RulesLeftOff.Order(StringComparer.Ordinal), levels.Where(l => l.Value == "off").Select(l => l.Key).Order(StringComparer.Ordinal));
        Assert.All(levels.Where(l => !RulesLeftOff.Contains(l.Key)), l => Assert.Equal("error", l.Value));
        // The rules Bicep 0.49.2 warns about by default, and the ones that catch mistakes in this template, are present.
        Assert.Contains("no-unused-params", levels.Keys);
        Assert.Contains("no-unused-types", levels.Keys);
        Assert.Contains("outputs-should-not-contain-secrets", levels.Keys);
        Assert.Contains("what-if-short-circuiting", levels.Keys);
        Assert.Contains("use-user-defined-types", levels.Keys);
    }
}
