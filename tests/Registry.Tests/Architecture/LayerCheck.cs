using Mono.Cecil;

namespace Registry.Tests.Architecture;

/// <summary>
/// Reads a compiled assembly and reports every use of a type from a higher layer than the user's, and every use of
/// a forbidden outside namespace. "Use" is what the compiled code refers to: base types, members' signatures,
/// attributes, and every type, method and field a method body touches, so a fully qualified name counts as much as a
/// <c>using</c> line. Compiler-generated types (lambdas, async state machines) count as their declaring type's.
/// </summary>
public sealed class LayerCheck(string rootNamespace, IReadOnlyList<string> layers, IReadOnlyDictionary<string, string[]> forbidden)
{
    /// <summary>The violations in <paramref name="assemblyPath"/>, one line each: user, layer, what it uses.</summary>
    public IReadOnlyList<string> Violations(string assemblyPath)
    {
        using var assembly = AssemblyDefinition.ReadAssembly(assemblyPath);
        var found = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var type in assembly.MainModule.GetTypes())
        {
            var user = OuterNamespace(type);
            if (!user.StartsWith(rootNamespace, StringComparison.Ordinal) || LayerOf(user) is not { } userLayer)
            {
                continue;
            }
            foreach (var used in Uses(type))
            {
                var usedNamespace = OuterNamespace(used);
                if (usedNamespace.StartsWith(rootNamespace, StringComparison.Ordinal) && LayerOf(usedNamespace) is { } usedLayer && usedLayer > userLayer)
                {
                    found.Add($"{Display(type)} ({layers[userLayer]}) uses {used.FullName} ({layers[usedLayer]})");
                }
                if (forbidden.TryGetValue(layers[userLayer], out var banned)
                    && banned.FirstOrDefault(b => usedNamespace == b || usedNamespace.StartsWith(b + ".", StringComparison.Ordinal)) is { } ban)
                {
                    found.Add($"{Display(type)} ({layers[userLayer]}) uses {used.FullName} ({ban} is not allowed there)");
                }
            }
        }
        return [.. found];
    }

    /// <summary>The index of the layer a namespace belongs to: the longest layer name that is it or a prefix of it.</summary>
    private int? LayerOf(string ns)
    {
        int? best = null;
        for (var i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            if ((ns == layer || ns.StartsWith(layer + ".", StringComparison.Ordinal)) && (best is null || layer.Length > layers[best.Value].Length))
            {
                best = i;
            }
        }
        return best;
    }

    private static string OuterNamespace(TypeReference type)
    {
        while (type.IsNested)
        {
            type = type.DeclaringType;
        }
        return type.Namespace;
    }

    private static string Display(TypeDefinition type) => type.FullName.Split('/')[0];

    private static List<TypeReference> Uses(TypeDefinition type)
    {
        var uses = new List<TypeReference>();
        void Add(TypeReference? t)
        {
            switch (t)
            {
                case null or GenericParameter:
                    return;
                case GenericInstanceType generic:
                    Add(generic.ElementType);
                    foreach (var argument in generic.GenericArguments)
                    {
                        Add(argument);
                    }
                    return;
                case TypeSpecification spec:
                    Add(spec.ElementType);
                    return;
                default:
                    uses.Add(t);
                    return;
            }
        }
        void AddAttributes(ICustomAttributeProvider provider)
        {
            foreach (var attribute in provider.CustomAttributes)
            {
                Add(attribute.AttributeType);
                foreach (var argument in attribute.ConstructorArguments)
                {
                    if (argument.Value is TypeReference typeArgument)
                    {
                        Add(typeArgument);
                    }
                }
            }
        }
        void AddMethod(MethodReference method)
        {
            Add(method.DeclaringType);
            Add(method.ReturnType);
            foreach (var parameter in method.Parameters)
            {
                Add(parameter.ParameterType);
            }
            if (method is GenericInstanceMethod generic)
            {
                foreach (var argument in generic.GenericArguments)
                {
                    Add(argument);
                }
            }
        }

        Add(type.BaseType);
        AddAttributes(type);
        foreach (var implemented in type.Interfaces)
        {
            Add(implemented.InterfaceType);
        }
        foreach (var field in type.Fields)
        {
            Add(field.FieldType);
            AddAttributes(field);
        }
        foreach (var property in type.Properties)
        {
            Add(property.PropertyType);
            AddAttributes(property);
        }
        foreach (var method in type.Methods)
        {
            AddMethod(method);
            AddAttributes(method);
            if (!method.HasBody)
            {
                continue;
            }
            foreach (var variable in method.Body.Variables)
            {
                Add(variable.VariableType);
            }
            foreach (var instruction in method.Body.Instructions)
            {
                switch (instruction.Operand)
                {
                    case TypeReference t:
                        Add(t);
                        break;
                    case MethodReference m:
                        AddMethod(m);
                        break;
                    case FieldReference f:
                        Add(f.DeclaringType);
                        Add(f.FieldType);
                        break;
                }
            }
        }
        return uses;
    }
}
