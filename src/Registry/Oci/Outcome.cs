using System.Diagnostics.CodeAnalysis;

namespace Registry.Oci;

/// <summary>
/// What every store change that can be refused answers (push, complete, append, delete, untag, move, lock): the value
/// it produced, or the expected failure (<see cref="OciError"/>) that refused it, whose detail says what, if anything, changed; one with nothing
/// to report answers <see cref="Done"/>. The stores' other answers are fixed as well: a lookup answers its value or null
/// (absent is an answer, and the handler that was asked names the OCI error for it); a predicate, a removal by name
/// (of a policy, a rule, a token) and a conditional step of the collector's protocol answer a bool (it holds; there
/// was one; it won); a storage fault is an exception, which the HTTP layer maps in one place (503 with Retry-After).
/// </summary>
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

/// <summary>The value of a change that has nothing to report but that it happened.</summary>
public readonly record struct Done;
