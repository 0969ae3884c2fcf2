using EdgeGate.Core.Commands;
using EdgeGate.Core.Tests.Fakes;

namespace EdgeGate.Core.Tests.Commands;

public sealed class EventBudgetTests
{
    [Fact]
    public void AllowsTheBudgetPerWindow_ThenCountsWhatItHeldBack_AndReportsItWithTheNextAllowedEvent()
    {
        var time = new ManualTime();
        var budget = new EventBudget(3, TimeSpan.FromMinutes(1), time);
        for (var i = 0; i < 3; i++) Assert.True(budget.TryTake(out var s) && s == 0);
        Assert.False(budget.TryTake(out _));
        Assert.False(budget.TryTake(out _));
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(budget.TryTake(out _));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(budget.TryTake(out var suppressed));
        Assert.Equal(3, suppressed);
        Assert.True(budget.TryTake(out suppressed));
        Assert.Equal(0, suppressed);
    }
}
