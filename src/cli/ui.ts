// `sluice ui`: serves the web view of a namespace's pipelines on 127.0.0.1 (src/ui/server.ts) until Ctrl-C, and
// opens it in a browser when there is one.
import { Command } from 'commander';
import { startUi } from '../ui/server.ts';
import { openBrowser } from '../ui/open.ts';
import { booleanOption, wholeNumber, withClusterOptions, type ClusterOptions } from './flags.ts';
import { runWithClient } from './status-log.ts';

interface UiFlags extends ClusterOptions {
  port: number;
  readOnly: boolean;
  open: boolean;
}

export function uiCommand(): Command {
  return withClusterOptions(
    new Command('ui')
      .description(
        "serve a live web view of the namespace's pipelines on 127.0.0.1, with your kubeconfig's rights",
      )
      .addHelpText(
        'after',
        [
          '',
          'It binds to 127.0.0.1 only, and every request needs the random token in the address it prints (as',
          'Jupyter does), so other local users and web pages cannot read or drive it. Every cluster request is made',
          "as your kubeconfig's user, so RBAC decides. Reconcile (with its source), suspend and resume ask for a",
          'confirmation; --read-only turns them off. Secret values are never sent to the page.',
        ].join('\n'),
      )
      .option('--port <port>', 'the port on 127.0.0.1 (0: any free one)', wholeNumber(0), 0)
      .addOption(booleanOption('--read-only', 'no reconcile, suspend or resume from the page', false))
      .addOption(booleanOption('--open', 'open the page in a browser when there is a desktop', true)),
  ).action(async (flags: UiFlags) => {
    await runWithClient(flags, async (client, log) => {
      const ui = await startUi({
        client,
        namespace: flags.namespace,
        readOnly: flags.readOnly,
        port: flags.port,
      });
      log.success(`sluice ui on ${ui.url}`);
      log.waiting(
        `namespace ${flags.namespace}; bound to 127.0.0.1 only, the token is required${flags.readOnly ? '; read-only' : ''}; Ctrl-C stops it`,
      );
      if (flags.open) openBrowser(ui.url);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await ui.close();
    });
  });
}
