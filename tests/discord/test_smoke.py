from tests.fakes.fake_discord import GUILD_ID


async def test_login_and_guild_sync(runner, discord_fake):
    bot = await runner.start()
    assert bot.get_guild(GUILD_ID) is not None
    assert {c["name"] for c in discord_fake.commands[str(GUILD_ID)]} == {"interview", "diagram", "practice", "history", "end"}
