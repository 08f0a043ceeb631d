using System.Reflection;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Architecture;

/// <summary>One dependency direction: host → registry library → Azure SDK; the protocol types know no Azure or web type.</summary>
public sealed class DependencyTests
{
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
