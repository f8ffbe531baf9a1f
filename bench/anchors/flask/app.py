"""The status feed of demo/, written the way the seed (flask-security-best-practices.txt)
prescribes it in Flask: the anchor the rampart demo is measured against (bench/demo.mjs).

Every practice of the seed, with the extensions it names:
- Jinja2 templates only, autoescaping on for every template; attribute values quoted.
- Flask-WTF CSRFProtect: every POST needs the form's csrf_token (first field of each form).
- Flask-Talisman: CSP with a per-request nonce, HSTS, X-Frame-Options, nosniff, Referrer-Policy,
  permissions policy, HTTPS redirect; the other headers the seed lists are set after each request.
- Session cookie Secure, HttpOnly, SameSite=Lax; the session is cleared at log-in and log-out.
- Uploads: the client's name only through secure_filename (kept for display and download), the file
  stored under a random name; images served inline, everything else as_attachment, through
  send_from_directory.
- sqlite3 from the standard library, the demo's schema, every query parameterized; passwords hashed
  with werkzeug.security.

Environment: DATA_DIR (default ./data), FEED_SECRET_KEY (required unless FEED_DEV=1),
FEED_INSECURE_HTTP=1 (no HTTPS redirect: only to try it in a browser over plain http; the benchmark
does not set it, it sends X-Forwarded-Proto: https as a TLS-terminating proxy would).
Run: gunicorn -w 2 -b 127.0.0.1:8000 --chdir bench/anchors/flask app:app (see README.md).
"""

import os
import re
import secrets
import sqlite3
import threading
import time
from datetime import datetime, timezone

from flask import Flask, abort, g, redirect, render_template, request, send_from_directory, session
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.utils import secure_filename

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.abspath(os.environ.get('DATA_DIR', 'data'))
UPLOADS = os.path.join(DATA_DIR, 'uploads')
DATABASE = os.path.join(DATA_DIR, 'feed.db')
# The demo's stylesheet, so both apps serve the same page.
STATIC = os.environ.get('FEED_STATIC', os.path.join(HERE, '..', '..', '..', 'demo', 'public'))

PAGE_SIZE = 20
MAX_STATUS_CHARACTERS = 500
MAX_FILE_BYTES = 5 * 1024 * 1024
USERNAME = re.compile(r'^[A-Za-z0-9_]{3,32}$')
CURSOR = re.compile(r'^[1-9][0-9]{0,15}$')
MAX_CURSOR = 2**53 - 1
# werkzeug 2.2 (Debian 12) has no scrypt (added in 2.3): PBKDF2-SHA256 at OWASP's 600,000 iterations.
PASSWORD_METHOD = 'pbkdf2:sha256:600000'
# The same allowlist as the demo: by extension, then checked against the file's first bytes.
ALLOWED = {
    'png': ('image/png', [b'\x89PNG\r\n\x1a\n']),
    'jpg': ('image/jpeg', [b'\xff\xd8\xff']),
    'jpeg': ('image/jpeg', [b'\xff\xd8\xff']),
    'gif': ('image/gif', [b'GIF87a', b'GIF89a']),
    'webp': ('image/webp', [b'RIFF']),
    'pdf': ('application/pdf', [b'%PDF-']),
    'zip': ('application/zip', [b'PK\x03\x04']),
    'txt': ('text/plain', None),
}

app = Flask(__name__, static_folder=STATIC, static_url_path='/static')

secret = os.environ.get('FEED_SECRET_KEY')
if not secret:
    if os.environ.get('FEED_DEV') != '1':
        raise SystemExit('status feed (Flask): set FEED_SECRET_KEY (e.g. python3 -c "import secrets; print(secrets.token_hex(32))"), or FEED_DEV=1 to try it with a throwaway key.')
    secret = secrets.token_hex(32)

app.config.update(
    SECRET_KEY=secret,
    SESSION_COOKIE_SECURE=True,
    SESSION_COOKIE_HTTPONLY=True,
    SESSION_COOKIE_SAMESITE='Lax',
    # The file's limit plus room for the text and the token.
    MAX_CONTENT_LENGTH=MAX_FILE_BYTES + 64 * 1024,
)

# Seed §1: autoescape every template (Flask already does for .html; the seed says to make it explicit).
app.jinja_env.autoescape = True

# Seed §2.
csrf = CSRFProtect(app)

# Seed §5, through Flask-Talisman. A strict CSP: a per-request nonce for scripts and styles.
Talisman(
    app,
    force_https=os.environ.get('FEED_INSECURE_HTTP') != '1',
    frame_options='DENY',
    strict_transport_security=True,
    content_security_policy={
        'default-src': "'self'",
        'script-src': "'strict-dynamic'",
        'style-src': "'self'",
        'object-src': "'none'",
        'base-uri': "'none'",
        'frame-ancestors': "'none'",
        'form-action': "'self'",
    },
    content_security_policy_nonce_in=['script-src', 'style-src'],
    referrer_policy='strict-origin-when-cross-origin',
    # The same features turned off as the demo's Permissions-Policy.
    permissions_policy={feature: '()' for feature in (
        'accelerometer', 'autoplay', 'browsing-topics', 'camera', 'display-capture', 'encrypted-media',
        'geolocation', 'gyroscope', 'hid', 'idle-detection', 'local-fonts', 'magnetometer', 'microphone',
        'midi', 'payment', 'publickey-credentials-get', 'screen-wake-lock', 'serial', 'usb',
        'window-management', 'xr-spatial-tracking')},
    session_cookie_secure=True,
    session_cookie_http_only=True,
)


@app.after_request
def more_headers(response):
    # The seed's other headers, which Talisman does not set (HPKP is obsolete: browsers dropped it).
    response.headers['X-Permitted-Cross-Domain-Policies'] = 'none'
    response.headers['X-Download-Options'] = 'noopen'
    return response


# --- Data: the demo's schema (demo/db.mjs), one connection per worker thread. ---

SCHEMA = """
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE COLLATE NOCASE,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE statuses (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  text TEXT NOT NULL,
  attachment_id TEXT,
  attachment_type TEXT,
  attachment_name TEXT,
  attachment_size INTEGER,
  created_at INTEGER NOT NULL
);
CREATE INDEX statuses_by_user ON statuses (user_id, id);
CREATE TABLE revoked_sessions (
  id TEXT PRIMARY KEY,
  until INTEGER NOT NULL
);
"""

STATUS_COLUMNS = """s.id, s.text, s.created_at, s.attachment_id, s.attachment_type, s.attachment_name,
  s.attachment_size, u.username, u.id AS user_id"""

_local = threading.local()


def connect():
    db = sqlite3.connect(DATABASE, timeout=5, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute('PRAGMA journal_mode = WAL')
    db.execute('PRAGMA synchronous = NORMAL')
    db.execute('PRAGMA foreign_keys = ON')
    return db


def migrate():
    os.makedirs(UPLOADS, mode=0o700, exist_ok=True)
    db = connect()
    try:
        db.execute('BEGIN IMMEDIATE')
        if db.execute('PRAGMA user_version').fetchone()[0] == 0:
            for statement in SCHEMA.split(';'):
                if statement.strip():
                    db.execute(statement)
            db.execute('PRAGMA user_version = 1')
        db.execute('COMMIT')
    finally:
        db.close()


def get_db():
    db = getattr(_local, 'db', None)
    if db is None:
        db = _local.db = connect()
    return db


migrate()


# --- Who is logged in ---

@app.before_request
def load_user():
    g.user = None
    user_id = session.get('user_id')
    if isinstance(user_id, int):
        g.user = get_db().execute('SELECT id, username FROM users WHERE id = ?', (user_id,)).fetchone()
        if g.user is None:
            session.clear()


def log_in(user_id):
    # A new session for the user that just proved who they are (and a new CSRF token).
    session.clear()
    session['user_id'] = user_id


@app.template_filter('time')
def format_time(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime('%d %b %Y, %H:%M')


@app.template_filter('isotime')
def format_isotime(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z')


@app.template_filter('size')
def format_size(size):
    if size < 1024:
        return f'{size} B'
    if size < 1024 * 1024:
        return f'{size / 1024:.1f} KiB'
    return f'{size / 1024 / 1024:.1f} MiB'


def cursor():
    value = request.args.get('before', '')
    return int(value) if CURSOR.match(value) else MAX_CURSOR


def message(status, title, text):
    return render_template('message.html', title=title, message=text), status


def show_feed(status=200, draft=None, messages=None):
    rows = get_db().execute(
        f'SELECT {STATUS_COLUMNS} FROM statuses s JOIN users u ON u.id = s.user_id WHERE s.id < ? ORDER BY s.id DESC LIMIT ?',
        (cursor(), PAGE_SIZE + 1),
    ).fetchall()
    statuses = rows[:PAGE_SIZE]
    older = f'/?before={statuses[-1]["id"]}' if len(rows) > PAGE_SIZE else None
    return render_template('feed.html', statuses=statuses, older=older, draft=draft, messages=messages,
                           max_chars=MAX_STATUS_CHARACTERS), status


# --- Routes (the demo's) ---

@app.get('/')
def feed():
    return show_feed()


@app.get('/u/<username>')
def user_page(username):
    owner = get_db().execute('SELECT id, username FROM users WHERE username = ?', (username,)).fetchone()
    if owner is None:
        return message(404, 'No such user', 'There is no user of that name.')
    rows = get_db().execute(
        f'SELECT {STATUS_COLUMNS} FROM statuses s JOIN users u ON u.id = s.user_id WHERE s.user_id = ? AND s.id < ? ORDER BY s.id DESC LIMIT ?',
        (owner['id'], cursor(), PAGE_SIZE + 1),
    ).fetchall()
    statuses = rows[:PAGE_SIZE]
    older = f'/u/{owner["username"]}?before={statuses[-1]["id"]}' if len(rows) > PAGE_SIZE else None
    return render_template('user.html', owner=owner, statuses=statuses, older=older)


@app.get('/register')
def register_form():
    return render_template('credentials.html', page='register')


@app.post('/register')
def register():
    username = request.form.get('username', '')
    password = request.form.get('password', '')
    messages = []
    if not USERNAME.match(username):
        messages.append('Choose a username of 3 to 32 letters, digits or _.')
    if not 8 <= len(password) <= 128:
        messages.append('Choose a password of 8 to 128 characters.')
    if messages:
        return render_template('credentials.html', page='register', username=username, messages=messages), 422
    try:
        cur = get_db().execute('INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?)',
                               (username, generate_password_hash(password, PASSWORD_METHOD), int(time.time() * 1000)))
    except sqlite3.IntegrityError:
        return render_template('credentials.html', page='register', username=username, messages=['That username is taken.']), 409
    log_in(cur.lastrowid)
    return redirect('/', 303)


# Checked for unknown users too, so the time taken does not tell which names exist.
DUMMY_HASH = generate_password_hash(secrets.token_hex(16), PASSWORD_METHOD)


@app.get('/login')
def login_form():
    return render_template('credentials.html', page='login')


@app.post('/login')
def login():
    username = request.form.get('username', '')
    password = request.form.get('password', '')[:128]
    user = get_db().execute('SELECT id, password_hash FROM users WHERE username = ?', (username,)).fetchone() if USERNAME.match(username) else None
    valid = check_password_hash(user['password_hash'] if user else DUMMY_HASH, password)
    if user is None or not valid:
        return render_template('credentials.html', page='login', username=username, messages=['Wrong username or password.']), 401
    log_in(user['id'])
    return redirect('/', 303)


@app.post('/logout')
def logout():
    session.clear()
    return redirect('/', 303)


def receive_attachment():
    """The uploaded file stored under a random name: (id, type, name, size), None, or an error message."""
    upload = request.files.get('attachment')
    if upload is None or not upload.filename:
        return None, None
    name = secure_filename(upload.filename) or 'attachment'
    extension = name.rsplit('.', 1)[-1].lower() if '.' in name else ''
    if extension not in ALLOWED:
        return None, 'That type of file is not allowed: images (PNG, JPEG, GIF, WebP), PDF, ZIP or text.'
    content_type, signatures = ALLOWED[extension]
    head = upload.stream.read(16)
    upload.stream.seek(0)
    if signatures is not None and not any(head.startswith(signature) for signature in signatures):
        return None, 'That type of file is not allowed: images (PNG, JPEG, GIF, WebP), PDF, ZIP or text.'
    if not head:
        return None, 'That file is empty.'
    attachment_id = secrets.token_hex(16)
    path = os.path.join(UPLOADS, attachment_id)
    upload.save(path)
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        os.remove(path)
        return None, 'That file is too large: 5 MiB at most.'
    return (attachment_id, content_type, name, size), None


@app.post('/statuses')
def post_status():
    if g.user is None:
        return message(401, 'Log in first', 'Log in to post a status.')
    attachment, error = receive_attachment()
    if error:
        return show_feed(415, messages=[error])
    text = request.form.get('text', '').strip()
    if not 0 < len(text) <= MAX_STATUS_CHARACTERS:
        if attachment:
            os.remove(os.path.join(UPLOADS, attachment[0]))
        return show_feed(422, draft=text, messages=['Write something first.' if not text else f'A status is at most {MAX_STATUS_CHARACTERS} characters.'])
    attachment_id, content_type, name, size = attachment or (None, None, None, None)
    get_db().execute(
        'INSERT INTO statuses (user_id, text, attachment_id, attachment_type, attachment_name, attachment_size, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        (g.user['id'], text, attachment_id, content_type, name, size, int(time.time() * 1000)),
    )
    return redirect('/', 303)


@app.post('/statuses/<status_id>/delete')
def delete_status(status_id):
    if g.user is None:
        return message(401, 'Log in first', 'Log in to delete your statuses.')
    if not CURSOR.match(status_id):
        return message(404, 'Not found', 'You have no status with that id.')
    db = get_db()
    row = db.execute('SELECT attachment_id FROM statuses WHERE id = ? AND user_id = ?', (int(status_id), g.user['id'])).fetchone()
    if row is None:
        return message(404, 'Not found', 'You have no status with that id.')
    db.execute('DELETE FROM statuses WHERE id = ? AND user_id = ?', (int(status_id), g.user['id']))
    if row['attachment_id']:
        try:
            os.remove(os.path.join(UPLOADS, row['attachment_id']))
        except FileNotFoundError:
            pass
    return redirect('/', 303)


@app.get('/attachments/<attachment_id>')
def attachment(attachment_id):
    if not re.fullmatch(r'[0-9a-f]{32}', attachment_id):
        abort(404)
    row = get_db().execute('SELECT attachment_type, attachment_name FROM statuses WHERE attachment_id = ?', (attachment_id,)).fetchone()
    if row is None:
        abort(404)
    inline = row['attachment_type'].startswith('image/')
    return send_from_directory(UPLOADS, attachment_id, mimetype=row['attachment_type'],
                               as_attachment=not inline, download_name=row['attachment_name'])


@app.errorhandler(CSRFError)
def csrf_error(error):
    return message(403, 'Refused', 'This form has expired or did not come from this site. Go back, reload the page and try again.')


@app.errorhandler(404)
def not_found(error):
    return message(404, 'Not found', 'There is no page here.')


@app.errorhandler(413)
def too_large(error):
    return show_feed(413, messages=['That post is too large: 5 MiB at most.'])
