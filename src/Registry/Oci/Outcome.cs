using System.Diagnostics.CodeAnalysis;

namespace Registry.Oci;

/// <summary>A value or the expected failure that prevented it.</summary>
public readonly record struct Outcome<T>
{
    private Outcome(T? value, OciError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }

    public OciError? Error { get; }

    [MemberNotNullWhen(false, nameof(Error))]
    [MemberNotNullWhen(true, nameof(Value))]
    public bool Succeeded => Error is null;

    public static implicit operator Outcome<T>(T value) => new(value, null);

    public static implicit operator Outcome<T>(OciError error) => new(default, error);
}
