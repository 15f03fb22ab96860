import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../../server/config.js';

/** The message loadConfig throws for `env`, or null when it accepts it. */
function problem(env: Record<string, string>): string | null {
  try {
    loadConfig(env);
    return null;
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as Error).message;
  }
}

describe('configuration validation (R-RUN-4)', () => {
  it('whole numbers name their accepted range, whatever is wrong with the value', () => {
    for (const bad of ['-1', '65', 'lots', '1.5', '']) {
      expect(problem({ WORKER_CONCURRENCY: bad }))
        .to.include('WORKER_CONCURRENCY')
        .and.include('must be a whole number from 0 to 64');
    }
    expect(problem({ PORT: '70000' })).to.include('PORT="70000": must be a whole number from 0 to 65535');
    expect(problem({ EMBEDDED_PG_PORT: '0' })).to.include('from 1 to 65535');
    expect(loadConfig({ WORKER_CONCURRENCY: '0' }).WORKER_CONCURRENCY).to.equal(0);
    expect(loadConfig({ WORKER_CONCURRENCY: '64' }).WORKER_CONCURRENCY).to.equal(64);
  });

  it('TZ must be an IANA zone (an invalid one would be copied into exports whose schedules never fire)', () => {
    expect(problem({ TZ: 'Mars/Olympus' }))
      .to.include('TZ="Mars/Olympus"')
      .and.include('IANA time zone');
    expect(problem({ TZ: 'CEST+2' })).to.include('TZ=');
    expect(loadConfig({ TZ: 'Europe/Berlin' }).TZ).to.equal('Europe/Berlin');
    expect(loadConfig({ TZ: 'UTC' }).TZ).to.equal('UTC');
    expect(loadConfig({ TZ: '' }).TZ).to.equal('');
  });

  it('TRANSPORT_DIRECTORY_ROOTS must list existing absolute folders', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'em-config-'));
    const file = path.join(dir, 'file');
    writeFileSync(file, 'x');
    expect(problem({ TRANSPORT_DIRECTORY_ROOTS: 'relative/out' }))
      .to.include('TRANSPORT_DIRECTORY_ROOTS')
      .and.include('is not an absolute path');
    expect(problem({ TRANSPORT_DIRECTORY_ROOTS: `${dir}, ${file}` })).to.include('is not a folder');
    expect(problem({ TRANSPORT_DIRECTORY_ROOTS: path.join(dir, 'missing') })).to.include('does not exist');
    const other = mkdtempSync(path.join(os.tmpdir(), 'em-config-'));
    expect(loadConfig({ TRANSPORT_DIRECTORY_ROOTS: ` ${dir} ,${other}` }).TRANSPORT_DIRECTORY_ROOTS).to.deep.equal([
      dir,
      other,
    ]);
  });

  it('TRANSPORT_DIRECTORY_ROOTS may not nest (each user writes below <root>/<user id>/)', () => {
    const outer = mkdtempSync(path.join(os.tmpdir(), 'em-config-'));
    mkdirSync(path.join(outer, '7'));
    expect(problem({ TRANSPORT_DIRECTORY_ROOTS: `${outer},${path.join(outer, '7')}` }))
      .to.include('TRANSPORT_DIRECTORY_ROOTS')
      .and.include(`is inside "${outer}"`);
  });

  it('SECRET_KEY must be 64 hex characters or base64 of 32 bytes, and is never echoed', () => {
    const message = problem({ SECRET_KEY: 'hunter2-is-not-a-key' });
    expect(message).to.include('SECRET_KEY: must be 64 hex characters or the base64 encoding of 32 bytes');
    expect(message).not.to.include('hunter2');
    expect(problem({ SECRET_KEY: 'ab'.repeat(31) })).to.include('SECRET_KEY');
    expect(problem({ SECRET_KEY: 'ab'.repeat(32) })).to.equal(null);
    expect(problem({ SECRET_KEY: Buffer.alloc(32, 7).toString('base64') })).to.equal(null);
    expect(problem({ NODE_ENV: 'production' })).to.include('SECRET_KEY: is required when NODE_ENV=production');
  });

  it('HOST must be an IP address or a host name', () => {
    for (const bad of ['', 'exa mple', 'http://localhost', '-bad.example', 'a..b', '256.1.1.1:80']) {
      expect(problem({ HOST: bad }), bad)
        .to.include('HOST=')
        .and.include('must be an IP address or a host name');
    }
    for (const good of ['0.0.0.0', '::', '127.0.0.1', '::1', 'localhost', 'api.example.com'])
      expect(problem({ HOST: good }), good).to.equal(null);
  });

  it('URLs are checked by scheme, and a password inside one is masked in the message', () => {
    const message = problem({ DATABASE_URL: 'mysql://u:s3cret@db/x' });
    expect(message).to.include('DATABASE_URL').and.include('postgres://');
    expect(message).not.to.include('s3cret');
    expect(problem({ PUBLIC_URL: 'javascript:alert(1)' }))
      .to.include('PUBLIC_URL')
      .and.include('http://');
    expect(problem({ SMTP_URL: 'smtp://' })).to.include('SMTP_URL');
    // A password holding '/' or '@' is masked up to the last '@', as URL parsers split it.
    for (const [name, value, secret] of [
      ['SMTP_URL', 'smtp://user:pa/ss@host:99999', 'pa/ss'],
      ['DATABASE_URL', 'postgres://u:se@cret@h:99999/db', 'cret'],
      ['DATABASE_URL', 'postgres://u:x/y@z@h:99999/db', 'x/y'],
    ]) {
      const shown = problem({ [name]: value });
      expect(shown, value).to.include(name).and.include('***@h');
      expect(shown, value).not.to.include(secret);
    }
    expect(
      problem({ DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db', SMTP_URL: 'smtps://mail.example:465' }),
    ).to.equal(null);
  });

  it('enumerations, booleans and durations state what they accept', () => {
    expect(problem({ LOG_LEVEL: 'loud' })).to.include(
      'LOG_LEVEL="loud": must be one of fatal, error, warn, info, debug, trace, silent',
    );
    expect(problem({ ROLE: 'boss' })).to.include('must be one of all, api, worker');
    expect(problem({ S3_FORCE_PATH_STYLE: 'yes' })).to.include('must be true, false, 1 or 0');
    expect(problem({ SESSION_TTL: '0s' }))
      .to.include('SESSION_TTL')
      .and.include('from 1ms to 3650d');
    expect(problem({ RUN_LEASE: '99999d' })).to.include('RUN_LEASE');
    expect(problem({ SCHEDULE_DEFAULT_TIME: '24:00' })).to.include('from 00:00 to 23:59');
  });

  it('every bad variable gets its own line naming it', () => {
    const message = problem({ PORT: 'x', TZ: 'Nowhere/Land', HOST: 'a b' }) ?? '';
    const lines = message.split('\n').slice(1);
    expect(lines).to.have.length(3);
    expect(lines.map((l) => l.trim().split(/[=:]/)[0]).sort()).to.deep.equal(['HOST', 'PORT', 'TZ']);
  });
});
