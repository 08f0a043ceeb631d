using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Registry.Oci;
using Registry.Storage.Quotas;

namespace Registry.Admin;

/// <summary>
/// <c>registry-admin quota set|remove|list</c>: storage quotas per repository pattern (<see cref="StorageQuotas"/>),
/// e.g. <c>quota set 'team/*' 50GiB</c>; <c>list</c> prints each with the unique bytes it holds now.
/// </summary>
internal static class QuotaCommands
{
    public static Command Build(Option<string?> connectionString)
    {
        Argument<string> Repositories() => new("repositories") { Description = "'*', '<name>/*' (everything under <name>/) or a repository name." };
        var (setRepositories, removeRepositories) = (Repositories(), Repositories());
        var size = new Argument<string>("size") { Description = "The most unique blob bytes the repositories may hold: 500MiB, 50GiB, 2TiB, or bytes." };

        var set = new Command("set", "Sets the storage quota of the matching repositories (replacing theirs).") { setRepositories, size };
        set.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => SetAsync(c, p.GetRequiredValue(setRepositories), p.GetRequiredValue(size), ct)));
        var remove = new Command("remove", "Removes a storage quota.") { removeRepositories };
        remove.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => RemoveAsync(c, p.GetRequiredValue(removeRepositories), ct)));
        var list = new Command("list", "Lists the storage quotas: repository pattern, quota bytes, used bytes, percent used (tab-separated).");
        list.SetAction(AdminCli.Handler(connectionString, (c, _, ct) => ListAsync(c, ct)));
        return new Command("quota", "Storage quotas: the most unique blob bytes a repository pattern may hold; pushes past it get 403 DENIED.") { set, remove, list };
    }

    public static async Task<int> SetAsync(AdminContext context, string pattern, string sizeText, CancellationToken cancellationToken)
    {
        if (RepositoryPatterns.Validate(pattern) is { } problem)
        {
            return await context.FailAsync([problem]);
        }
        if (ByteSizes.Parse(sizeText) is not { } bytes)
        {
            return await context.FailAsync([$"'{sizeText}' is not a size: a positive number of bytes, or a number with KiB, MiB, GiB or TiB (50GiB, 1.5TiB)"]);
        }
        await context.PrepareAsync(cancellationToken);
        await context.Registry.GetRequiredService<StorageQuotas>().SetAsync(new StorageQuota(pattern, bytes), "cli:" + Environment.UserName, cancellationToken);
        await context.Output.WriteLineAsync(
            $"{pattern}\t{bytes}\t({ByteSizes.Format(bytes)}; running registries apply it within {StorageQuotas.RefreshInterval.TotalSeconds:0} seconds)");
        await context.RecordAsync("quota-set", $"{pattern} {bytes}", cancellationToken);
        return AdminCli.Ok;
    }

    public static async Task<int> RemoveAsync(AdminContext context, string pattern, CancellationToken cancellationToken)
    {
        await context.PrepareAsync(cancellationToken);
        if (!await context.Registry.GetRequiredService<StorageQuotas>().RemoveAsync(pattern, cancellationToken))
        {
            return await context.FailAsync([$"'{pattern}' has no storage quota (`quota list` shows them)"]);
        }
        await context.RecordAsync("quota-remove", pattern, cancellationToken);
        return AdminCli.Ok;
    }

    public static async Task<int> ListAsync(AdminContext context, CancellationToken cancellationToken)
    {
        await context.PrepareAsync(cancellationToken);
        var admission = context.Registry.GetRequiredService<QuotaAdmission>();
        foreach (var quota in await context.Registry.GetRequiredService<StorageQuotas>().ListAsync(cancellationToken))
        {
            var used = await admission.ReadUsageAsync(quota.RepositoryPattern, cancellationToken);
            await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{quota.RepositoryPattern}\t{quota.Bytes}\t{used}\t{100.0 * used / quota.Bytes:0.#}%"));
        }
        return AdminCli.Ok;
    }
}
