return await Registry.Admin.AdminCli.RunAsync(args, Console.Out, Console.Error);
