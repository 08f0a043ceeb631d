using System.Reflection;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Architecture;

/// <summary>One dependency direction: host → registry library → Azure SDK; the protocol types know no Azure or web type.</summary>
public sealed class DependencyTests
{
    /// <summary>
    /// The registry library's folders, bottom first: each may use only itself and those before it. README "Layout of
    /// the code" says the same in one line.
    /// </summary>
    public static readonly string[] Layers =
    [
        "Registry.Oci",
        "Registry.Hashing",
        "Registry.Diagnostics",
        "Registry.Storage",
        "Registry.Storage.Quotas",
        "Registry.Storage.Events",
        "Registry.Storage.References",
        "Registry.Storage.Reviews",
        "Registry.Storage.Blobs",
        "Registry.Storage.Uploads",
        "Registry.Storage.Policies",
        "Registry.Storage.Tags",
        "Registry.Storage.Manifests",
        "Registry.Storage.Audit",
        "Registry.Auth",
        "Registry.Startup",
        "Registry.Audit",
        "Registry.Events",
        "Registry.Collection",
        "Registry.Retention",
        "Registry.Replication",
        "Registry.Jobs",
        "Registry.Http",
        "Registry",
    ];

    private static readonly string[] NoWeb = ["Microsoft.AspNetCore"];
    private static readonly string[] NoAzureNoWeb = ["Azure", "Microsoft.AspNetCore"];

    /// <summary>What a layer must not use from outside: only Http knows HTTP, and Http handles no storage client or row.</summary>
    private static readonly Dictionary<string, string[]> Forbidden = new()
    {
        ["Registry.Hashing"] = NoAzureNoWeb,
        ["Registry.Oci"] = NoAzureNoWeb,
        ["Registry.Diagnostics"] = NoAzureNoWeb,
        ["Registry.Storage"] = NoWeb,
        ["Registry.Storage.Events"] = NoWeb,
        ["Registry.Storage.References"] = NoWeb,
        ["Registry.Storage.Reviews"] = NoWeb,
        ["Registry.Storage.Blobs"] = NoWeb,
        ["Registry.Storage.Uploads"] = NoWeb,
        ["Registry.Storage.Policies"] = NoWeb,
        ["Registry.Storage.Tags"] = NoWeb,
        ["Registry.Storage.Manifests"] = NoWeb,
        ["Registry.Storage.Audit"] = NoWeb,
        ["Registry.Auth"] = NoWeb,
        ["Registry.Startup"] = NoWeb,
        ["Registry.Audit"] = NoWeb,
        ["Registry.Events"] = NoWeb,
        ["Registry.Collection"] = NoWeb,
        ["Registry.Retention"] = NoWeb,
        ["Registry.Replication"] = NoWeb,
        ["Registry.Jobs"] = NoWeb,
        ["Registry.Http"] = ["Azure.Storage", "Azure.Data"],
    };

    [Fact]
    public void EachFolder_UsesOnlyTheFoldersBelowIt()
    {
        var violations = new LayerCheck("Registry", Layers, Forbidden).Violations(typeof(Registry.Oci.Digest).Assembly.Location);
        Assert.True(violations.Count == 0, $"{violations.Count} uses against the order:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void TheCheck_FindsALowerLayerUsingAHigherOne_ByQualifiedNameAndBySignature()
    {
        const string root = "Registry.Tests.Architecture.LayeredSample";
        var check = new LayerCheck(root, [root + ".Storage", root + ".Http"], new Dictionary<string, string[]>());
        var violations = check.Violations(typeof(DependencyTests).Assembly.Location);
        Assert.Equal(2, violations.Count);
        Assert.Contains(violations, v => v.StartsWith(root + ".Storage.SampleStore (", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.StartsWith(root + ".Storage.SampleStoreWithSignature (", StringComparison.Ordinal));
    }

    [Fact]
    public void TheCheck_FindsAForbiddenOutsideNamespace()
    {
        const string root = "Registry.Tests.Architecture.LayeredSample";
        var check = new LayerCheck(root, [root + ".Storage", root + ".Http"], new Dictionary<string, string[]> { [root + ".Storage"] = ["System.Linq"] });
        Assert.DoesNotContain(check.Violations(typeof(DependencyTests).Assembly.Location), v => v.Contains("is not allowed", StringComparison.Ordinal));
        var banned = new LayerCheck(root, [root + ".Storage", root + ".Http"], new Dictionary<string, string[]> { [root + ".Http"] = ["System"] });
        Assert.Contains(banned.Violations(typeof(DependencyTests).Assembly.Location), v => v.Contains("(System is not allowed there)", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Oci")]
    [InlineData("Hashing")]
    public void ProtocolFolders_UseNoAzureOrAspNetType(string folder)
    {
        var offenders = Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "src", "Registry", folder), "*.cs", SearchOption.AllDirectories)
            .Where(file => File.ReadAllText(file) is var text
                && (text.Contains("Azure.", StringComparison.Ordinal) || text.Contains("Microsoft.AspNetCore", StringComparison.Ordinal)))
            .Select(Path.GetFileName)
            .ToList();
        Assert.Empty(offenders);
    }

    [Fact]
    public void ProtocolTypes_ExposeNoAzureTypeInTheirSignatures()
    {
        var protocol = typeof(Registry.Oci.Digest).Assembly.GetTypes()
            .Where(t => t.Namespace is "Registry.Oci" or "Registry.Hashing");
        var leaks = new List<string>();
        foreach (var type in protocol)
        {
            foreach (var member in type.GetMembers(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                var types = member switch
                {
                    FieldInfo f => [f.FieldType],
                    PropertyInfo p => [p.PropertyType],
                    MethodInfo m => m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType),
                    _ => Enumerable.Empty<Type>(),
                };
                leaks.AddRange(types.Where(t => t.Assembly.GetName().Name!.StartsWith("Azure", StringComparison.Ordinal)).Select(t => $"{type.Name}.{member.Name}: {t}"));
            }
        }
        Assert.Empty(leaks);
    }

    [Fact]
    public void RegistryLibrary_KnowsNothingOfAzureFunctions()
    {
        var references = typeof(Registry.Oci.Digest).Assembly.GetReferencedAssemblies().Select(a => a.Name!);
        Assert.DoesNotContain(references, name => name.Contains("Functions", StringComparison.Ordinal));
        Assert.DoesNotContain("FUNCTIONS_", File.ReadAllText(Path.Combine(RepoPaths.Root, "src", "Registry", "RegistryServices.cs")), StringComparison.Ordinal);
    }
}
