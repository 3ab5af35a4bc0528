// The access policy of issue 9's table, for the tests that need one (policy unit tests, the CLI,
// the gateway against real storage): a group, an admin, per-user repositories, a team's
// repositories, a pull-only user everywhere, anonymous pulls under public/. Rule i (rules[i] in
// messages, counted from 1) starts on line 2 + 3i.
export const ACCESS_POLICY = `groups:
  team: [alice, bob]
admins: [root]
rules:
  - repositories: ["{user}/**"]
    users: ["*"]
    actions: [pull, push, delete]
  - repositories: ["team/**"]
    groups: [team]
    actions: [pull, push]
  - repositories: ["**"]
    users: [puller]
    actions: [pull]
  - repositories: ["public/**"]
    anonymous: true
    actions: [pull]
`;
