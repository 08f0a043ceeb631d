using Microsoft.Extensions.Options;

namespace Registry.Auth;

/// <summary>
/// Checks the <c>Auth</c> settings when the registry starts and reports every problem at once, each with the setting
/// and how to fix it, instead of dropping a malformed rule or pattern at the first request that would use it.
/// </summary>
public sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        for (var i = 0; i < options.AnonymousPull.Count; i++)
        {
            if (AnonymousPullRules.ValidatePattern(options.AnonymousPull[i]) is { } problem)
            {
                problems.Add($"Auth:AnonymousPull:{i}: {problem}");
            }
        }
        foreach (var (membership, rules) in options.Entra.RoleRules)
        {
            for (var i = 0; i < rules.Count; i++)
            {
                if (EntraIdentities.ParseRule(rules[i]) is null)
                {
                    problems.Add($"Auth:Entra:RoleRules:{membership}:{i}: '{rules[i]}' is not a rule: write '<pattern>=<actions>', e.g. 'app/*=pull,push'");
                }
            }
        }
        if (options.Entra.RoleRules.Count > 0 && string.IsNullOrEmpty(options.Entra.Authority))
        {
            problems.Add("Auth:Entra:RoleRules are set but Auth:Entra:Authority is not: set the tenant's authority, or remove the rules");
        }
        if (!string.IsNullOrEmpty(options.Entra.Authority) && string.IsNullOrEmpty(options.Entra.Audience))
        {
            problems.Add("Auth:Entra:Audience must be set with Auth:Entra:Authority (the registry app's id URI)");
        }
        foreach (var (setting, value) in new[] { ("AccessTokenLifetime", options.AccessTokenLifetime), ("RefreshTokenLifetime", options.RefreshTokenLifetime) })
        {
            if (value <= TimeSpan.Zero)
            {
                problems.Add($"Auth:{setting} must be positive");
            }
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
