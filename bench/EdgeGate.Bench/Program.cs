using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// In-process: the benchmarks load native libraries found relative to the checkout, and a short job keeps a full
// run within a few minutes on a 2-core board. Run: dotnet run -c Release --project bench/EdgeGate.Bench -- --filter '*'
var config = DefaultConfig.Instance
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(15))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromAssembly(typeof(EdgeGate.Bench.FaceStageBenchmarks).Assembly).Run(args, config);
