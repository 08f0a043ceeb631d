using System.CommandLine;
using Registry.Auth;

namespace Registry.Admin;

/// <summary>
/// <c>registry-admin token ...</c>: registry tokens. A password is printed by <c>create</c> and <c>rotate</c> only,
/// once, alone on the output stream (so <c>password=$(registry-admin token create ...)</c> captures it); the note
/// about it goes to the error stream. Nothing ever prints a password hash.
/// </summary>
internal static class TokenCommands
{
    private static readonly string[] ListHeader = ["NAME", "ENABLED", "EXPIRES", "PASSWORDS", "SCOPES"];

    public static Command Build(Option<string?> connectionString)
    {
        var name = new Argument<string>("name") { Description = "The token's name: 1-64 characters of A-Z a-z 0-9 - _ (the docker login user name)." };
        var scope = new Option<string[]>("--scope", "-s")
        {
            Description = "A rule <pattern>=<actions>, repeatable. Patterns: '*', '<name>/*' or a repository name; actions: pull, push, delete, metadata-read, metadata-write or *.",
            Arity = ArgumentArity.OneOrMore,
        };
        var expires = new Option<string?>("--expires") { Description = "When the token stops working: an ISO 8601 date or time (UTC unless it says otherwise), or a duration such as 90d or 12h. Default: never." };
        var slot = new Option<int>("--slot") { Description = "The password slot to replace (1 or 2); the other slot keeps working.", DefaultValueFactory = _ => 1 };

        var create = new Command("create", "Creates a token and prints its password once.") { name, scope, expires };
        create.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => CreateAsync(c, p.GetRequiredValue(name), p.GetValue(scope) ?? [], p.GetValue(expires), ct)));

        var list = new Command("list", "Lists the tokens: name, enabled, expiry, password slots in use, scope map.");
        list.SetAction(AdminCli.Handler(connectionString, (c, _, ct) => ListAsync(c, ct)));

        var rotate = new Command("rotate", "Puts a new password into one slot and prints it once; the other slot's password keeps working.") { name, slot };
        rotate.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => RotateAsync(c, p.GetRequiredValue(name), p.GetValue(slot), ct)));

        var disable = new Command("disable", "Stops the token from getting or refreshing registry access.") { name };
        disable.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => SetEnabledAsync(c, p.GetRequiredValue(name), false, ct)));

        var enable = new Command("enable", "Lets a disabled token work again.") { name };
        enable.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => SetEnabledAsync(c, p.GetRequiredValue(name), true, ct)));

        var delete = new Command("delete", "Deletes the token.") { name };
        delete.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => DeleteAsync(c, p.GetRequiredValue(name), ct)));

        return new Command("token", "Registry tokens: named credentials with two password slots and a scope map.")
        {
            create, list, rotate, disable, enable, delete,
        };
    }

    public static async Task<int> CreateAsync(AdminContext context, string name, IReadOnlyList<string> scopes, string? expires, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        CheckName(name, problems);
        var rules = ScopeSyntax.ParseRules(scopes, problems);
        var expiresOn = ScopeSyntax.ParseExpiry(expires, AdminContext.Time.GetUtcNow(), problems);
        if (problems.Count > 0)
        {
            return await context.FailAsync(problems);
        }
        await context.PrepareAsync(cancellationToken);
        if (await context.Tokens.FindAsync(name, cancellationToken) is not null)
        {
            return await context.FailAsync([$"token '{name}' already exists: use `token rotate {name}` for a new password, or `token delete {name}` first"]);
        }
        var password = PasswordHasher.NewPassword();
        await context.Tokens.SaveAsync(new RegistryToken(name, [PasswordHasher.Hash(password)], rules, true, expiresOn), cancellationToken);
        await context.Error.WriteLineAsync($"Created token '{name}' ({string.Join(' ', rules.Select(ScopeSyntax.FormatRule))}, expires {FormatExpiry(expiresOn)}). Its password, shown only this once:");
        await context.Output.WriteLineAsync(password);
        await context.RecordAsync("token-create", name, cancellationToken);
        return AdminCli.Ok;
    }

    public static async Task<int> ListAsync(AdminContext context, CancellationToken cancellationToken)
    {
        await context.PrepareAsync(cancellationToken);
        var now = AdminContext.Time.GetUtcNow();
        var rows = new List<string[]> { ListHeader };
        foreach (var token in await context.Tokens.ListAsync(cancellationToken))
        {
            var expiry = FormatExpiry(token.ExpiresOn);
            rows.Add(
            [
                token.Name,
                token.Enabled ? "yes" : "no",
                token.ExpiresOn <= now ? expiry + " (expired)" : expiry,
                string.Join(',', Enumerable.Range(1, token.PasswordHashes.Count)),
                string.Join(' ', token.Rules.Select(ScopeSyntax.FormatRule)),
            ]);
        }
        var widths = Enumerable.Range(0, rows[0].Length).Select(i => rows.Max(r => r[i].Length)).ToArray();
        foreach (var row in rows)
        {
            await context.Output.WriteLineAsync(string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
        }
        return AdminCli.Ok;
    }

    /// <summary>
    /// Replaces the password in <paramref name="slot"/> and keeps the other one, so clients can move to the new
    /// password before the old one is rotated out.
    /// </summary>
    public static async Task<int> RotateAsync(AdminContext context, string name, int slot, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        CheckName(name, problems);
        if (slot is not (1 or 2))
        {
            problems.Add($"--slot {slot} does not exist: a token has password slots 1 and 2");
        }
        if (problems.Count > 0)
        {
            return await context.FailAsync(problems);
        }
        await context.PrepareAsync(cancellationToken);
        if (await context.Tokens.FindAsync(name, cancellationToken) is not { } token)
        {
            return await context.FailAsync([NoSuchToken(name)]);
        }
        var password = PasswordHasher.NewPassword();
        // The record lists the stored hashes in slot order with empty slots left out, so a lone password is slot 1's.
        var kept = token.PasswordHashes.ElementAtOrDefault(slot == 1 ? 1 : 0);
        var newHash = PasswordHasher.Hash(password);
        var slots = (slot == 1 ? [newHash, kept] : new[] { kept, newHash }).OfType<string>().ToList();
        await context.Tokens.SaveAsync(token with { PasswordHashes = slots }, cancellationToken);
        var other = kept is null ? "the other slot is empty" : $"slot {3 - slot}'s password keeps working";
        await context.Error.WriteLineAsync($"New password in slot {slot} of token '{name}' ({other}), shown only this once:");
        await context.Output.WriteLineAsync(password);
        await context.RecordAsync("token-rotate", name, cancellationToken);
        return AdminCli.Ok;
    }

    public static async Task<int> SetEnabledAsync(AdminContext context, string name, bool enabled, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        CheckName(name, problems);
        if (problems.Count > 0)
        {
            return await context.FailAsync(problems);
        }
        await context.PrepareAsync(cancellationToken);
        if (await context.Tokens.FindAsync(name, cancellationToken) is not { } token)
        {
            return await context.FailAsync([NoSuchToken(name)]);
        }
        if (token.Enabled != enabled)
        {
            await context.Tokens.SaveAsync(token with { Enabled = enabled }, cancellationToken);
        }
        await context.Output.WriteLineAsync($"Token '{name}' is {(enabled ? "enabled" : "disabled")}.");
        await context.RecordAsync(enabled ? "token-enable" : "token-disable", name, cancellationToken);
        return AdminCli.Ok;
    }

    public static async Task<int> DeleteAsync(AdminContext context, string name, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        CheckName(name, problems);
        if (problems.Count > 0)
        {
            return await context.FailAsync(problems);
        }
        await context.PrepareAsync(cancellationToken);
        if (!await context.Tokens.DeleteAsync(name, cancellationToken))
        {
            return await context.FailAsync([NoSuchToken(name)]);
        }
        await context.Output.WriteLineAsync($"Token '{name}' deleted.");
        await context.RecordAsync("token-delete", name, cancellationToken);
        return AdminCli.Ok;
    }

    private static void CheckName(string name, List<string> problems)
    {
        if (!RegistryTokens.IsValidName(name))
        {
            problems.Add($"'{name}' is not a token name: use 1-64 characters of A-Z, a-z, 0-9, '-' and '_' (and not '{AccessTokens.AnonymousSubject}')");
        }
    }

    private static string NoSuchToken(string name) => $"there is no token named '{name}' (`token list` shows them)";

    private static string FormatExpiry(DateTimeOffset? expiresOn) => expiresOn is { } at ? ScopeSyntax.Format(at) : "never";
}
